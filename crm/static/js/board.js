// The deal board: cards are dragged between columns (SortableJS); a drop posts the move.
// Accepted: the server's card and the two column headers (out of band) are swapped in.
// Refused (422): the card goes back where it was and a dialog asks for what is missing;
// submitting it retries the same move with the filled-in fields.
(() => {
  "use strict";

  function start() {
    const board = document.getElementById("board");
    if (!board) return;
    const dialogElement = document.getElementById("board-modal");
    const dialogContent = document.getElementById("board-modal-content");
    let retry = null; // {card, from, next, to} of the move the dialog retries

    const dialog = () => window.bootstrap.Modal.getOrCreateInstance(dialogElement);

    function withFilters(url) {
      const query = board.dataset.filterQuery;
      if (!query) return url;
      return url + (url.includes("?") ? "&" : "?") + query;
    }

    async function post(url, body) {
      try {
        const response = await fetch(url, {
          method: "POST",
          body,
          credentials: "same-origin",
          headers: { "X-CSRFToken": board.dataset.csrf, "HX-Request": "true" },
        });
        // A redirect means the session is gone (the sign-in page): not an answer to swap in.
        if (response.redirected) return { ok: false, status: 0, html: "", plain: false };
        const plain = (response.headers.get("Content-Type") || "").startsWith("text/plain");
        return { ok: response.ok, status: response.status, html: await response.text(), plain };
      } catch (error) {
        return { ok: false, status: 0, html: "", plain: false };
      }
    }

    function putBack(card, from, next) {
      from.insertBefore(card, next && next.parentNode === from ? next : null);
    }

    function placed(card, to, html) {
      if (to.hasAttribute("data-closing")) {
        // A won or lost deal leaves the board; only the headers are swapped in.
        const holder = document.createElement("div");
        holder.hidden = true;
        document.body.appendChild(holder);
        card.remove();
        htmx.swap(holder, html, { swapStyle: "innerHTML" });
        holder.remove();
        return;
      }
      // The newest move comes first in a column, as the server orders it.
      to.insertBefore(card, to.firstElementChild);
      htmx.swap(card, html, { swapStyle: "outerHTML" });
    }

    function showError(answer) {
      const message = answer.plain && answer.html ? answer.html : board.dataset.errorText;
      dialogContent.innerHTML = "";
      const body = document.createElement("div");
      body.className = "modal-body";
      const alert = document.createElement("div");
      alert.className = "alert alert-danger mb-0";
      alert.setAttribute("role", "alert");
      alert.textContent = message;
      body.appendChild(alert);
      const footer = document.createElement("div");
      footer.className = "modal-footer";
      footer.innerHTML = '<button type="button" class="btn btn-secondary" data-bs-dismiss="modal">OK</button>';
      dialogContent.append(body, footer);
      dialog().show();
    }

    async function move(card, from, next, to) {
      const body = new FormData();
      body.append("stage_id", to.dataset.stageId);
      card.classList.add("board-card-pending");
      const answer = await post(withFilters(card.dataset.moveUrl), body);
      card.classList.remove("board-card-pending");
      if (answer.ok) {
        placed(card, to, answer.html);
        return;
      }
      putBack(card, from, next);
      if (answer.status === 422) {
        retry = { card, from, next, to };
        dialogContent.innerHTML = answer.html;
        htmx.process(dialogContent);
        dialog().show();
      } else {
        showError(answer);
      }
    }

    dialogContent.addEventListener("submit", async (event) => {
      const form = event.target.closest("[data-board-move-form]");
      if (!form || !retry || form.dataset.dealId !== retry.card.dataset.dealId) return;
      event.preventDefault();
      const submit = form.querySelector("[type=submit]");
      if (submit) submit.disabled = true;
      const answer = await post(form.action, new FormData(form));
      if (answer.ok) {
        const { card, to } = retry;
        retry = null;
        dialog().hide();
        placed(card, to, answer.html);
      } else if (answer.status === 422) {
        dialogContent.innerHTML = answer.html;
        const invalid = dialogContent.querySelector(".is-invalid");
        if (invalid) invalid.focus();
      } else {
        retry = null;
        showError(answer);
      }
    });
    dialogElement.addEventListener("shown.bs.modal", () => {
      const first = dialogContent.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    });
    dialogElement.addEventListener("hidden.bs.modal", () => { retry = null; });

    if (!board.hasAttribute("data-can-move") || !window.Sortable) return;
    board.querySelectorAll(".board-cards").forEach((list) => {
      window.Sortable.create(list, {
        group: "deals",
        sort: false, // a column is ordered by the time of the move, not by hand
        draggable: ".board-card[data-movable]",
        forceFallback: true, // mouse and touch events: the same on every browser and in tests
        fallbackOnBody: true,
        fallbackTolerance: 5, // a click on the title still opens the deal
        delay: 250, // on a phone a swipe scrolls the board and a long press drags
        delayOnTouchOnly: true,
        emptyInsertThreshold: 24,
        ghostClass: "board-card-ghost",
        dragClass: "board-card-drag",
        onChoose(event) {
          event.item.boardNext = event.item.nextElementSibling;
        },
        onEnd(event) {
          if (event.from === event.to) return;
          move(event.item, event.from, event.item.boardNext, event.to);
        },
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
