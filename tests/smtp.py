"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the tests that send mail."""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import free_port

MAIL_TIMEOUT = 10.0  # seconds for a mail sent after a response to reach the inbox


class SmtpInbox:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self) -> None:
        self.port = free_port()  # nobody listens on it until start()
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self._controller: Controller | None = None
        self._let_through = threading.Event()  # cleared: each mail waits, see hold()
        self._let_through.set()
        self.in_hand = threading.Event()  # a held mail waits for release()

    async def handle_DATA(  # the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        if not self._let_through.is_set():
            self.in_hand.set()
            await asyncio.to_thread(self._let_through.wait, MAIL_TIMEOUT)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, subject: str) -> EmailMessage:
        """Return the first mail to `to` with `subject`, waiting for it to arrive."""

        def find() -> EmailMessage | None:
            for message in self.messages:
                if message["To"] == to and message["Subject"] == subject:
                    return message
            return None

        with self._arrived:
            found = self._arrived.wait_for(find, timeout=MAIL_TIMEOUT)
        received = [(m["To"], m["Subject"]) for m in self.messages]
        assert found, f"no mail {subject!r} to {to} arrived; received: {received}"
        return found

    def hold(self) -> None:
        """Keep each sender waiting for the answer to its mail until release()."""
        self._let_through.clear()

    def release(self) -> None:
        self._let_through.set()

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class RefusingInbox(SmtpInbox):
    """An SMTP server that refuses every recipient, quoting its address as servers do.

    Like SmtpInbox, nobody listens on its port until start().
    """

    async def handle_RCPT(  # the name aiosmtpd calls
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected"
