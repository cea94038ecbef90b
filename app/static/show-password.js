// A "Show" button beside each password field, to check what was typed. The pages
// work without this script; it only adds the button. Its words are the page's, in
// the page's language: base.html writes them in the body's data-* attributes.
"use strict";

document.querySelectorAll('input[type="password"]').forEach((input) => {
  const words = document.body.dataset;
  const box = document.createElement("span");
  box.className = "password-box";
  // Moving the field takes the focus from it: the page's autofocus (the field to
  // fix on a refused form) or a click made before this script ran.
  const focused = document.activeElement === input;
  input.replaceWith(box);
  box.append(input);
  const body = document.activeElement === document.body || !document.activeElement;
  if (focused || (input.autofocus && body)) input.focus();

  const button = document.createElement("button");
  button.type = "button";
  button.className = "show-password";
  // Named by what it does next, as it reads: "Show password", then "Hide password".
  // No aria-pressed: a toggle's name must not change, and a pressed "Hide" would
  // say the same thing twice.
  const label = (show) => {
    button.textContent = show ? words.showPassword : words.hidePassword;
    button.setAttribute(
      "aria-label",
      show ? words.showPasswordLabel : words.hidePasswordLabel,
    );
  };
  label(true);
  if (input.id) button.setAttribute("aria-controls", input.id);
  button.addEventListener("click", () => {
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    label(!show);
  });
  box.append(button);

  // Hidden again before the form goes, so that password managers see a password.
  input.form?.addEventListener("submit", () => {
    input.type = "password";
    label(true);
  });
});
