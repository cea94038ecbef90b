// The recovery codes page: buttons that copy the codes and print them. Without this
// script they stay hidden; the download link and the browser's own print still work.
// What copying did is said in the page's language: the status's data-copied and
// data-copy-failed attributes hold the words.
"use strict";

const list = document.getElementById("recovery-codes");
const copyButton = document.querySelector("[data-copy-codes]");
const printButton = document.querySelector("[data-print-codes]");
const status = document.querySelector(".copy-status");

if (list && copyButton && printButton && status) {
  const codes = Array.from(list.querySelectorAll("code"), (code) => code.textContent);
  if (navigator.clipboard) {
    copyButton.hidden = false;
    copyButton.addEventListener("click", () => {
      navigator.clipboard.writeText(codes.join("\n") + "\n").then(
        () => { status.textContent = status.dataset.copied; },
        () => { status.textContent = status.dataset.copyFailed; },
      );
    });
  }
  printButton.hidden = false;
  printButton.addEventListener("click", () => window.print());
}
