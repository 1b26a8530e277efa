// Accessible names for what Django's admin scripts build without one (the page crawl's axe
// findings): select2's autocomplete boxes, the filter boxes' help icons, and the roster
// history's scrolling table, which holds nothing to tab to.
(function () {
  "use strict";

  // A select2 box is named by its <select>: its aria-label (the inline rows'), else its <label>.
  function nameOf(select) {
    if (select.getAttribute("aria-label")) return select.getAttribute("aria-label");
    const label = select.id && document.querySelector(`label[for="${select.id}"]`);
    return label ? label.textContent.trim().replace(/:$/, "") : "";
  }

  function nameSelectBoxes(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach((select) => {
      const name = nameOf(select);
      const built = select.nextElementSibling;
      if (!name || !built) return;
      // The box and the text inside it (a read-only "textbox" showing the choice) both need one.
      built.querySelectorAll("[role=combobox], [role=textbox]").forEach((part) => part.setAttribute("aria-label", name));
    });
  }

  function nameIcons(root) {
    // An aria-label on a plain <span> is not read; as an image it is.
    root.querySelectorAll(".help-tooltip[aria-label]:not([role])").forEach((icon) => icon.setAttribute("role", "img"));
  }

  function focusableScrollers(root) {
    root.querySelectorAll(".tabular .wrapper").forEach((wrapper) => {
      const stops = wrapper.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea");
      // Hidden ones (the history's unused "Add another" row) are no tab stops either.
      if ([...stops].some((stop) => stop.getClientRects().length > 0)) return;
      const fieldset = wrapper.closest("fieldset");
      wrapper.tabIndex = 0;
      wrapper.setAttribute("role", "region");
      if (fieldset && fieldset.getAttribute("aria-labelledby")) wrapper.setAttribute("aria-labelledby", fieldset.getAttribute("aria-labelledby"));
    });
  }

  function all(root) { nameSelectBoxes(root); nameIcons(root); focusableScrollers(root); }
  // Django's scripts build these on DOM ready and on load: run after both.
  window.addEventListener("load", () => setTimeout(() => all(document), 0));
  document.addEventListener("formset:added", (event) => setTimeout(() => all(event.target), 0));
})();
