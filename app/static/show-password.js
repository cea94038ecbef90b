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
  // The accessible name begins with the word shown (WCAG 2.5.3, label in name), so
  // it changes with it; a name that changes goes without aria-pressed, or "Hide
  // password, pressed" would say the opposite of what it does.
  const say = (word) => {
    button.textContent = word;
    button.setAttribute("aria-label", `${word} password`);
  };
  say("Show");
  if (input.id) button.setAttribute("aria-controls", input.id);
  button.addEventListener("click", () => {
    const show = input.type === "password";
    input.type = show ? "text" : "password";
    say(show ? "Hide" : "Show");
  });
  box.append(button);

  // Hidden again before the form goes, so that password managers see a password.
  input.form?.addEventListener("submit", () => {
    input.type = "password";
    say("Show");
  });
});
