// The roster page: reorder in place with Move up / Move down (the keyboard) or by dragging.
// Without this script the same buttons submit and the server reorders.
(function () {
  document.addEventListener("DOMContentLoaded", () => {
    const list = document.getElementById("roster-list");
    if (!list) return;
    const live = document.getElementById("roster-announce");
    const save = document.getElementById("save-order");
    const note = document.getElementById("stale-note");
    const preview = document.getElementById("preview");
    const rows = () => Array.from(list.querySelectorAll("li[data-email]"));

    function renumber() {
      const all = rows();
      all.forEach((li, i) => {
        li.querySelector(".place").textContent = (i + 1) + ".";
        li.querySelectorAll("button[data-move]").forEach((b) => { b.value = b.dataset.move + ":" + i; });
        li.querySelector("button[data-remove]").value = "remove:" + i;
        li.querySelector("button[data-move=up]").disabled = i === 0;
        li.querySelector("button[data-move=down]").disabled = i === all.length - 1;
      });
      // The add forms carry the order too.
      const emails = all.map((li) => li.dataset.email);
      document.querySelectorAll(".roster-state").forEach((box) => {
        box.replaceChildren(...emails.map((email) => {
          const input = document.createElement("input");
          Object.assign(input, {type: "hidden", name: "member", value: email});
          return input;
        }));
      });
    }

    function changed(li) {
      renumber();
      save.disabled = true;
      note.hidden = false;
      preview.classList.add("stale");
      const place = rows().indexOf(li) + 1;
      live.textContent = li.dataset.name + " moved to place " + place + " of " + rows().length + ". Press Preview to see the effect.";
    }

    list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-move]");
      if (!button) return;
      event.preventDefault();
      const li = button.closest("li");
      const sibling = button.dataset.move === "up" ? li.previousElementSibling : li.nextElementSibling;
      if (!sibling) return;
      if (button.dataset.move === "up") list.insertBefore(li, sibling); else list.insertBefore(sibling, li);
      changed(li);
      const same = li.querySelector("button[data-move=" + button.dataset.move + "]");
      (same.disabled ? li.querySelector("button[data-move]:not([disabled])") : same).focus();
    });

    let dragged = null;
    list.addEventListener("dragstart", (event) => {
      dragged = event.target.closest("li[data-email]");
      if (!dragged) return;
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.email);
      dragged.classList.add("dragging");
    });
    list.addEventListener("dragover", (event) => {
      if (!dragged) return;
      event.preventDefault();
      const over = event.target.closest("li[data-email]");
      if (!over || over === dragged) return;
      const box = over.getBoundingClientRect();
      list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? over.nextSibling : over);
    });
    list.addEventListener("drop", (event) => { event.preventDefault(); });
    list.addEventListener("dragend", () => {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      changed(dragged);
      dragged = null;
    });
  });
})();
