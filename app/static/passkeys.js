// Passkey ceremonies. A form with data-passkey="get" (sign in) or "create" (add a
// passkey) asks its data-options address for the options (a challenge kept for
// this browser), lets the browser make or use a passkey, puts the answer in the
// form's "credential" field and submits the form, whose page says what came of it.
// On the sign-in page the browser also offers passkeys in the e-mail field's
// autofill (conditional mediation). Without this script the forms say that
// passkeys need it.
"use strict";

const toBase64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const fromBase64url = (text) => {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(bytes, (ch) => ch.charCodeAt(0));
};

// The options as WebAuthn wants them: the JSON methods where the browser has them.
const creationOptions = (json) => {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials || []).map((c) => ({
      ...c,
      id: fromBase64url(c.id),
    })),
  };
};

const requestOptions = (json) => {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: (json.allowCredentials || []).map((c) => ({
      ...c,
      id: fromBase64url(c.id),
    })),
  };
};

// The answer as JSON, as the server reads it.
const answerJSON = (credential) => {
  if (typeof credential.toJSON === "function") {
    return JSON.stringify(credential.toJSON());
  }
  const response = credential.response;
  const answer = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: toBase64url(response.clientDataJSON) },
  };
  if (response.attestationObject) {
    answer.response.attestationObject = toBase64url(response.attestationObject);
    answer.response.transports = response.getTransports ? response.getTransports() : [];
  } else {
    answer.response.authenticatorData = toBase64url(response.authenticatorData);
    answer.response.signature = toBase64url(response.signature);
    if (response.userHandle) {
      answer.response.userHandle = toBase64url(response.userHandle);
    }
  }
  return JSON.stringify(answer);
};

const say = (form, text) => {
  const status = form.querySelector(".passkey-status");
  if (status) {
    status.textContent = text;
  }
};

// Ask the form's options address for a ceremony's options; the form's fields go
// with it (the CSRF token, and where asked the password and code).
const fetchOptions = async (form, signal) => {
  const response = await fetch(form.dataset.options, {
    method: "POST",
    body: new FormData(form),
    credentials: "same-origin",
    headers: { Accept: "application/json" },
    signal,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok || !data || !data.options) {
    throw new Error((data && data.error) || form.dataset.failed);
  }
  return data.options;
};

const submitAnswer = (form, credential) => {
  form.querySelector('input[name="credential"]').value = answerJSON(credential);
  const remember = document.querySelector('input[type="checkbox"][name="remember"]');
  const keep = form.querySelector('input[type="hidden"][name="remember"]');
  if (remember && keep) {
    keep.value = remember.checked ? "y" : "";
  }
  form.dataset.answered = "yes";
  form.submit();
};

let conditional = null; // the autofill's request, aborted when a button starts one

const runCeremony = async (form) => {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    say(form, form.dataset.unsupported);
    return;
  }
  if (conditional) {
    conditional.abort();
    conditional = null;
  }
  say(form, form.dataset.waiting);
  let options;
  try {
    options = await fetchOptions(form);
  } catch (error) {
    say(form, error.message);
    return;
  }
  let credential;
  try {
    credential =
      form.dataset.passkey === "create"
        ? await navigator.credentials.create({ publicKey: creationOptions(options) })
        : await navigator.credentials.get({ publicKey: requestOptions(options) });
  } catch (error) {
    say(
      form,
      error.name === "NotAllowedError" || error.name === "AbortError"
        ? form.dataset.cancelled
        : error.name === "InvalidStateError"
          ? form.dataset.known || form.dataset.failed
          : form.dataset.failed,
    );
    return;
  }
  submitAnswer(form, credential);
};

const offerInAutofill = async (form) => {
  if (
    !window.PublicKeyCredential ||
    !PublicKeyCredential.isConditionalMediationAvailable ||
    !(await PublicKeyCredential.isConditionalMediationAvailable())
  ) {
    return;
  }
  // made before its options are asked for: a button pressed meanwhile aborts the
  // request too, so that the button's challenge is the one the browser keeps
  conditional = new AbortController();
  let options;
  try {
    options = await fetchOptions(form, conditional.signal);
  } catch (error) {
    return; // the button still says what went wrong, if it is used
  }
  try {
    const credential = await navigator.credentials.get({
      publicKey: requestOptions(options),
      mediation: "conditional",
      signal: conditional.signal,
    });
    if (credential) {
      submitAnswer(form, credential);
    }
  } catch (error) {
    // cancelled, or a button started another request
  }
};

document.querySelectorAll("form[data-passkey]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (form.dataset.answered === "yes") {
      return;
    }
    event.preventDefault();
    runCeremony(form);
  });
  if (form.dataset.autofill === "yes") {
    offerInAutofill(form);
  }
});
