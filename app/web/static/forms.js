// Kesher's own script (not vendored): the inbox's small behaviours, kept out of the pages so the
// Content-Security-Policy allows no inline script. Listeners sit on the document, so content
// htmx swaps in later behaves the same.
//   data-submit-on-change     a checkbox that sends its form when ticked or cleared
//   data-fill="ID" data-text  a button that puts its text in the box with that id (canned replies)
(function () {
  document.addEventListener("change", (event) => {
    const field = event.target;
    if (field instanceof HTMLInputElement && field.hasAttribute("data-submit-on-change")) {
      field.form.submit();
    }
  });
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-fill]") : null;
    const box = button ? document.getElementById(button.dataset.fill) : null;
    if (box) box.value = button.dataset.text;
  });
})();
