// The member's menu in the header is a <details> element, which opens and closes
// without this script; the script also closes it on Escape and on a click outside it.
"use strict";

document.querySelectorAll(".account-menu details").forEach((menu) => {
  const summary = menu.querySelector("summary");
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !menu.open) return;
    const focusWasInMenu = menu.contains(document.activeElement);
    menu.open = false;
    // Back to the name that opened it, unless the focus had already left the menu.
    if (focusWasInMenu) summary.focus();
  });
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
});
