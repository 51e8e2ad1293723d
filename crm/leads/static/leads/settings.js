// The lead settings pages. Everything here improves a page that already works without it:
// - the routing rules: drag a rule into a new order (SortableJS, when installed); the order
//   is saved at once, and if the server refuses it the page reloads to show the stored one;
// - the web form editor: add, remove, move and drag rows of fields; the options box shows
//   only for a "choice" field;
// - the snippet's "Copy" button.
document.addEventListener("DOMContentLoaded", () => {
  showScripted(document);
  rulesOrder();
  fieldRows();
  copyButtons();
});

// Show the controls that need the script; data-js-only="md" ones only on wider screens
// (on a phone the arrows are easier than dragging).
function showScripted(root) {
  root.querySelectorAll("[data-js-only]").forEach((element) => {
    if (element.dataset.jsOnly === "md") element.classList.add("d-md-block");
    else element.classList.remove("d-none");
  });
}

function rulesOrder() {
  const form = document.getElementById("rule-order");
  const list = form && form.querySelector("[data-sortable]");
  if (!list || !window.Sortable) return;
  const arrows = () => {
    const items = list.querySelectorAll(":scope > li[data-id]");
    items.forEach((item, index) => {
      item.querySelector("button[value=up]").disabled = index === 0;
      item.querySelector("button[value=down]").disabled = index === items.length - 1;
      const number = item.querySelector(".badge.rounded-pill");
      if (number) number.textContent = String(index + 1);
    });
  };
  list.querySelectorAll(".drag-handle").forEach((handle) => handle.classList.remove("d-none"));
  window.Sortable.create(list, {
    handle: ".drag-handle",
    animation: 150,
    onEnd: (event) => {
      if (event.oldIndex === event.newIndex) return;
      arrows();
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Requested-With": "XMLHttpRequest" },
        credentials: "same-origin",
      })
        .then((response) => { if (!response.ok) window.location.reload(); })
        .catch(() => window.location.reload());
    },
  });
}

function fieldRows() {
  const rows = document.querySelector("[data-field-rows]");
  const template = document.getElementById("field-row-template");
  if (!rows || !template) return;
  const showOptions = (row) => {
    const type = row.querySelector("[data-field-type]");
    row.querySelector("[data-field-options]").classList.toggle("d-none", type.value !== "select");
  };
  const arrows = () => {
    const items = rows.querySelectorAll(":scope > [data-field-row]");
    items.forEach((item, index) => {
      item.querySelector("[data-field-move=up]").disabled = index === 0;
      item.querySelector("[data-field-move=down]").disabled = index === items.length - 1;
    });
  };
  rows.querySelectorAll("[data-field-row]").forEach(showOptions);
  arrows();
  let added = 0;
  document.querySelector("[data-field-add]")?.addEventListener("click", () => {
    const row = template.content.firstElementChild.cloneNode(true);
    added += 1;
    // The "required" box says which row it belongs to by the row's token.
    row.querySelectorAll("[data-row-token]").forEach((input) => { input.value = `added-${added}`; });
    showScripted(row);
    rows.appendChild(row);
    showOptions(row);
    arrows();
    row.querySelector("input[name=field_name]").focus();
  });
  rows.addEventListener("change", (event) => {
    if (event.target.matches("[data-field-type]")) showOptions(event.target.closest("[data-field-row]"));
  });
  rows.addEventListener("click", (event) => {
    const row = event.target.closest("[data-field-row]");
    if (!row) return;
    if (event.target.closest("[data-field-remove]")) {
      row.remove();
      arrows();
      return;
    }
    const move = event.target.closest("[data-field-move]");
    if (!move) return;
    if (move.dataset.fieldMove === "up" && row.previousElementSibling) {
      rows.insertBefore(row, row.previousElementSibling);
    } else if (move.dataset.fieldMove === "down" && row.nextElementSibling?.matches("[data-field-row]")) {
      rows.insertBefore(row.nextElementSibling, row);
    }
    arrows();
    move.focus();
  });
  if (window.Sortable) {
    window.Sortable.create(rows, { handle: ".drag-handle", draggable: "[data-field-row]", animation: 150, onEnd: arrows });
  }
}

function copyButtons() {
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", () => {
      const source = document.querySelector(button.dataset.copy);
      const done = button.parentElement.querySelector("[data-copied]");
      const text = source.textContent;
      const fallback = () => {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
      };
      const copied = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text).catch(fallback)
        : Promise.resolve(fallback());
      copied.then(() => { if (done) done.classList.remove("d-none"); });
    });
  });
}
