// Small behaviours shared by the pages; everything else is HTMX attributes in the templates.
document.addEventListener("click", (event) => {
  // Close the search suggestions when clicking elsewhere.
  const box = document.getElementById("search-suggestions");
  if (box && !event.target.closest(".global-search")) box.innerHTML = "";
});
document.addEventListener("click", (event) => {
  // "Add another" buttons clone the last row of a repeatable group of inputs.
  const button = event.target.closest("[data-add-row]");
  if (!button) return;
  const group = document.getElementById(button.dataset.addRow);
  const rows = group.querySelectorAll("[data-row]");
  const clone = rows[rows.length - 1].cloneNode(true);
  clone.querySelectorAll("input, textarea").forEach((input) => { input.value = ""; });
  clone.querySelectorAll("select").forEach((select) => { select.selectedIndex = 0; });
  group.appendChild(clone);
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-remove-row]");
  if (!button) return;
  const row = button.closest("[data-row]");
  const group = row.parentElement;
  if (group.querySelectorAll("[data-row]").length > 1) row.remove();
  else row.querySelectorAll("input").forEach((input) => { input.value = ""; });
});
document.addEventListener("DOMContentLoaded", () => {
  // Swap validation answers (400/409/413/422) into the page so forms show their errors;
  // other errors are not swapped.
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "(400|409|413|422)", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }
});

// The Content-Security-Policy allows no inline script and no style="" attribute, so what
// the templates once did inline is done here, for the page and for every HTMX swap.
document.addEventListener("click", (event) => {
  // data-confirm="Question?" on a button or link: ask before it acts (HTMX or not).
  const target = event.target.closest("[data-confirm]");
  if (!target || target.tagName === "FORM") return;
  if (!window.confirm(target.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
document.addEventListener("click", (event) => {
  // data-print on a button: print the page (the print styles are in crm.css).
  if (event.target.closest("[data-print]")) window.print();
});
document.addEventListener("submit", (event) => {
  // data-confirm on a form: ask before it is sent.
  const form = event.target;
  if (!form.matches || !form.matches("form[data-confirm]")) return;
  if (!window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
document.addEventListener("change", (event) => {
  // data-autosubmit on a field: send its form when the value changes.
  const field = event.target.closest("[data-autosubmit]");
  if (!field || !field.form) return;
  if (field.form.requestSubmit) field.form.requestSubmit();
  else field.form.submit();
});
document.addEventListener("focusin", (event) => {
  // data-select-on-focus: select the whole value (addresses and tokens to copy).
  const field = event.target.closest("[data-select-on-focus]");
  if (field && field.select) field.select();
});
document.addEventListener("click", (event) => {
  // data-copy-from="id": copy that field's value; the button then reads data-done.
  const button = event.target.closest("[data-copy-from]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyFrom);
  if (!field) return;
  field.select();
  if (navigator.clipboard) navigator.clipboard.writeText(field.value);
  if (button.dataset.done) button.textContent = button.dataset.done;
});
document.addEventListener("visibilitychange", () => {
  // Back on the tab: pollers listening for "crm-visible from:body" refresh at once.
  if (document.visibilityState === "visible") document.body.dispatchEvent(new Event("crm-visible"));
});
document.addEventListener("htmx:beforeRequest", (event) => {
  // data-poll-visible-only: a polling element does not ask while its tab is hidden.
  const element = event.detail && event.detail.elt;
  if (element && element.hasAttribute("data-poll-visible-only") && document.visibilityState !== "visible") {
    event.preventDefault();
  }
});

const COLOUR = /^#[0-9a-fA-F]{3,8}$/;
function applyDynamicStyles(root) {
  // Values only known on the server go through the CSSOM (not governed by style-src):
  // data-stage-color sets --stage-color (stage-bg, stage-border and the board use it);
  // data-percent sets a progress bar's width.
  const scope = root && root.querySelectorAll ? root : document;
  const pick = (selector) => {
    const found = Array.from(scope.querySelectorAll(selector));
    if (scope.matches && scope.matches(selector)) found.push(scope);
    return found;
  };
  pick("[data-stage-color]").forEach((element) => {
    const colour = element.dataset.stageColor;
    if (COLOUR.test(colour)) element.style.setProperty("--stage-color", colour);
  });
  pick("[data-percent]").forEach((element) => {
    const percent = Math.max(0, Math.min(100, parseFloat(element.dataset.percent) || 0));
    element.style.width = `${percent}%`;
  });
}
window.crmApplyDynamicStyles = applyDynamicStyles;
applyDynamicStyles(document);
document.addEventListener("htmx:load", (event) => applyDynamicStyles(event.target));
