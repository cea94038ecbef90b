// A "Show" button beside each password field, to check what was typed. The pages
// work without this script; it only adds the button.
"use strict";

document.querySelectorAll('input[type="password"]').forEach((input) => {
  const box = document.createElement("span");
  box.className = "password-box";
  input.replaceWith(box);
  box.append(input);

  const button = document.createElement("button");
  button.type = "button";
  button.className = "show-password";
  button.textContent = "Show";
  button.setAttribute("aria-label", "Show password");
  button.setAttribute("aria-pressed", "false");
  if (input.id) button.setAttribute("aria-controls", input.id);
  button.addEventListener("click", () => {
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    button.textContent = show ? "Hide" : "Show";
    button.setAttribute("aria-pressed", String(show));
  });
  box.append(button);

  // Hidden again before the form goes, so that password managers see a password.
  input.form?.addEventListener("submit", () => {
    input.type = "password";
  });
});
