// cunshe-ledger workbench: the few things a page does in the browser (the pages work without it).
"use strict";

// 手工匹配: the sums of the ticked statement lines and book lines, and whether they agree, as one ticks.
function yuan(fen) {
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return sign + whole + "." + String(abs % 100).padStart(2, "0");
}

function liveSum(form) {
  const out = form.querySelector(".livesum");
  if (!out) return;
  const boxes = document.querySelectorAll('input[type=checkbox][form="' + form.id + '"]');
  function update() {
    let statement = 0, book = 0, picked = 0;
    boxes.forEach((box) => {
      if (!box.checked) return;
      picked += 1;
      const fen = parseInt(box.dataset.amount, 10) || 0;
      if (box.dataset.side === "statement") statement += fen; else book += fen;
    });
    const agrees = picked > 0 && statement === book;
    if (picked === 0) {
      out.textContent = out.dataset.none;
      out.classList.remove("ok", "warn");
      return;
    }
    out.textContent = out.dataset.words
      .replace("{statement}", yuan(statement))
      .replace("{book}", yuan(book))
      .replace("{difference}", yuan(statement - book)) + " · " + (agrees ? out.dataset.agree : out.dataset.differ);
    out.classList.toggle("ok", agrees);
    out.classList.toggle("warn", !agrees);
  }
  boxes.forEach((box) => box.addEventListener("change", update));
  update();
}

document.querySelectorAll("form[data-live-sum]").forEach(liveSum);
