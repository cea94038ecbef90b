// Tells the sign-in form the browser's time zone ("Europe/Berlin"), so that the
// member's times are shown in it. Without this script times stay in UTC.
"use strict";

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
if (zone) {
  document.querySelectorAll('input[name="time_zone"]').forEach((input) => {
    input.value = zone;
  });
}
