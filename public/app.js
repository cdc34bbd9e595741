// The demo site's only script (served as text/javascript; charset=utf-8).
// It proves the script arrived and ran: it replaces one line of the page.
const line = document.getElementById("clock");
if (line) {
  line.textContent = "app.js ran at " + new Date().toLocaleTimeString() + ".";
}
