// Kesher's own script (not vendored). A request the page makes in the background that fails
// (a stale form token, a handoff gone, the server out of reach) says so in the page's banner,
// in the page's language, instead of leaving the screen as if the action had worked.
(function () {
  function banner() {
    return document.getElementById("request-error");
  }
  function show(xhr) {
    const shown = banner();
    if (!shown) return;
    let detail = "";
    try {
      detail = JSON.parse(xhr.responseText).error.message;
    } catch (ignored) {
      detail = "";
    }
    shown.textContent = shown.dataset.text + (detail ? " (" + detail + ")" : "");
    shown.hidden = false;
  }
  document.addEventListener("htmx:responseError", (event) => show(event.detail.xhr));
  document.addEventListener("htmx:sendError", () => show(null));
  document.addEventListener("htmx:afterRequest", (event) => {
    const shown = banner();
    if (shown && event.detail.successful) shown.hidden = true;
  });
})();
