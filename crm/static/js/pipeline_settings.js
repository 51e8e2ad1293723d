// The stage editor: drag stages into a new order with SortableJS when it is installed
// (the up/down buttons do the same without JavaScript). The order is saved at once; if the
// server refuses it (the stages changed meanwhile) the page reloads to show them as stored.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("stage-order");
  const list = form && form.querySelector("[data-sortable]");
  if (!list || !window.Sortable) return;
  const arrows = () => {
    const items = list.querySelectorAll(":scope > li");
    items.forEach((item, index) => {
      item.querySelector("button[value=up]").disabled = index === 0;
      item.querySelector("button[value=down]").disabled = index === items.length - 1;
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
});
