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
