/* 填制凭证: keyboard-first voucher entry over a form that also posts without this script.
   Enter moves to the next field (the last 摘要 carries down into an empty one), "=" in an amount fills the
   difference that balances the voucher, Ctrl+Enter saves; the account field suggests this org's postable
   accounts by code, name or pinyin initials (the server's /accounts/suggest); the totals, the difference
   and the 大写 follow every keystroke. No framework, nothing from another origin. */
(function () {
  "use strict";

  var DIGITS = "零壹贰叁肆伍陆柒捌玖";
  var PLACES = ["仟", "佰", "拾", ""];

  function groupWords(group) {
    var s = String(group).padStart(4, "0"), out = "", pending = false;
    for (var i = 0; i < 4; i++) {
      var d = s.charCodeAt(i) - 48;
      if (d === 0) { pending = out !== ""; continue; }
      if (pending) { out += "零"; pending = false; }
      out += DIGITS[d] + PLACES[i];
    }
    return out;
  }

  function yuanWords(yuan) {
    if (yuan >= 1e8) {
      var high = Math.floor(yuan / 1e8), low = yuan % 1e8;
      var w = yuanWords(high) + "亿";
      if (low) { w += (low < 1e7 ? "零" : "") + yuanWords(low); }
      return w;
    }
    var groups = [Math.floor(yuan / 1e4), yuan % 1e4], units = ["万", ""], out = "", zeroBefore = false;
    for (var i = 0; i < 2; i++) {
      var g = groups[i];
      if (g === 0) { zeroBefore = out !== ""; continue; }
      if (out && (zeroBefore || g < 1000)) { out += "零"; }
      out += groupWords(g) + units[i];
      zeroBefore = false;
    }
    return out;
  }

  /* 人民币大写, the same convention as ledger.books.money.amount_in_words (tests compare the two). */
  function amountInWords(fen) {
    if (fen === 0) { return "零元整"; }
    var neg = fen < 0, a = Math.abs(fen);
    var yuan = Math.floor(a / 100), cents = a % 100, jiao = Math.floor(cents / 10), fd = cents % 10;
    var w = neg ? "负" : "";
    if (yuan) { w += yuanWords(yuan) + "元"; }
    if (jiao) { if (yuan && yuan % 10 === 0) { w += "零"; } w += DIGITS[jiao] + "角"; }
    if (fd) { if (yuan && jiao === 0) { w += "零"; } w += DIGITS[fd] + "分"; } else { w += "整"; }
    return w;
  }
  window.cunsheAmountInWords = amountInWords;

  /* "1234.5" → 123450 fen; null for anything the server would refuse (so it is not counted). */
  function toFen(text) {
    var m = /^\s*(\d{1,15})(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    if (!m) { return null; }
    return Number(m[1]) * 100 + Number((m[2] || "").padEnd(2, "0"));
  }

  function money(fen) {
    var neg = fen < 0, a = Math.abs(fen), yuan = Math.floor(a / 100), c = String(a % 100).padStart(2, "0");
    return (neg ? "-" : "") + String(yuan).replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + c;
  }

  var form = document.getElementById("voucher-form");
  if (!form) { return; }
  var body = form.querySelector("tbody");
  var words = JSON.parse(form.getAttribute("data-words") || "{}");

  function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr.vline")); }

  function showDims(row) {
    var dims = (row.getAttribute("data-dims") || "").split(" ").filter(Boolean);
    row.querySelectorAll("label.dim").forEach(function (label) {
      var select = label.querySelector("select");
      var name = select.getAttribute("name");
      label.hidden = dims.indexOf(name) < 0 && !select.value;
    });
  }

  /* The fields Enter walks through, in order: the head, then each row's visible fields. */
  function fields() {
    var out = Array.prototype.slice.call(form.querySelectorAll(".vhead input"));
    rows().forEach(function (row) {
      row.querySelectorAll("input, select").forEach(function (el) {
        var label = el.closest("label.dim");
        if (!label || !label.hidden) { out.push(el); }
      });
    });
    return out;
  }

  function totals() {
    var debit = 0, credit = 0;
    rows().forEach(function (row) {
      debit += toFen(row.querySelector("input.debit").value) || 0;
      credit += toFen(row.querySelector("input.credit").value) || 0;
    });
    return { debit: debit, credit: credit };
  }

  function refresh() {
    var s = totals();
    document.getElementById("total-debit").textContent = money(s.debit);
    document.getElementById("total-credit").textContent = money(s.credit);
    var balanced = s.debit === s.credit && s.debit > 0;
    document.getElementById("daxie").textContent = s.debit > 0 ? "（" + amountInWords(s.debit) + "）" : "";
    var note = document.getElementById("balance");
    note.textContent = balanced ? words.balanced : (s.debit || s.credit ? words.off + " " + money(s.debit - s.credit) : "");
    note.className = "balance " + (balanced ? "ok" : "warn");
  }

  function renumber() {
    rows().forEach(function (row, i) {
      row.querySelector("td.no").textContent = String(i + 1);
      row.querySelectorAll("[aria-label]").forEach(function (el) {
        el.setAttribute("aria-label", el.getAttribute("aria-label").replace(/\d+/, String(i + 1)));
      });
    });
  }

  function addRow() {
    var last = rows()[rows().length - 1];
    var row = last.cloneNode(true);
    row.querySelectorAll("input, select").forEach(function (el) { el.value = ""; el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby"); });
    row.querySelectorAll("select").forEach(function (el) { el.value = ""; });
    row.querySelectorAll(".error, .suggest").forEach(function (el) { el.remove(); });
    row.setAttribute("data-dims", "");
    body.appendChild(row);
    renumber();
    showDims(row);
    return row;
  }

  function next(el) {
    var list = fields(), i = list.indexOf(el);
    var row = el.closest("tr.vline");
    // after its amount a line is done (a debit skips the credit): on to the next line's 摘要
    if (row && (el.classList.contains("credit") || (el.classList.contains("debit") && el.value.trim()))) {
      var after = row.nextElementSibling || addRow();
      after.querySelector("input.memo").focus();
      return;
    }
    if (i >= 0 && i + 1 < list.length) { list[i + 1].focus(); }
  }

  /* ---- account suggestions ---- */
  var timer = null, seq = 0;

  function closeList(input) {
    var list = input.parentNode.querySelector("ul.suggest");
    if (list) { list.remove(); }
    input.setAttribute("aria-expanded", "false");
  }

  function choose(input, item) {
    input.value = item.code + " " + item.name;
    var row = input.closest("tr.vline");
    row.setAttribute("data-dims", item.dims.join(" "));
    showDims(row);
    closeList(input);
  }

  function suggest(input) {
    var mine = ++seq;
    var url = form.getAttribute("data-suggest") + "?q=" + encodeURIComponent(input.value.trim().split(/\s+/)[0] || "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (items) {
        if (mine !== seq || document.activeElement !== input) { return; }
        closeList(input);
        if (!items.length) { return; }
        var list = document.createElement("ul");
        list.className = "suggest";
        list.setAttribute("role", "listbox");
        list.id = "suggest-" + mine;
        items.forEach(function (item, i) {
          var li = document.createElement("li");
          li.setAttribute("role", "option");
          li.id = list.id + "-" + i;
          li.textContent = item.code + " " + item.name;
          li.setAttribute("aria-selected", i === 0 ? "true" : "false");
          li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(input, item); next(input); });
          li._item = item;
          list.appendChild(li);
        });
        input.parentNode.appendChild(list);
        input.setAttribute("aria-controls", list.id);
        input.setAttribute("aria-expanded", "true");
      });
  }

  function move(input, delta) {
    var list = input.parentNode.querySelector("ul.suggest");
    if (!list) { return; }
    var items = Array.prototype.slice.call(list.children);
    var at = items.findIndex(function (li) { return li.getAttribute("aria-selected") === "true"; });
    var to = Math.max(0, Math.min(items.length - 1, at + delta));
    items.forEach(function (li, i) { li.setAttribute("aria-selected", i === to ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", items[to].id);
  }

  function picked(input) {
    var list = input.parentNode.querySelector("ul.suggest");
    if (!list) { return null; }
    var li = list.querySelector('[aria-selected="true"]');
    return li ? li._item : null;
  }

  form.addEventListener("input", function (e) {
    var el = e.target;
    if (el.classList.contains("account")) {
      el.closest("tr.vline").setAttribute("data-dims", "");
      clearTimeout(timer);
      timer = setTimeout(function () { suggest(el); }, 120);
    }
    if (el.classList.contains("amount")) { refresh(); }
  });

  form.addEventListener("focusin", function (e) {
    var el = e.target;
    if (el.tagName === "INPUT" && el.value) { el.select(); }  // typing replaces what the field holds
    if (el.classList.contains("memo") && !el.value) {
      var row = el.closest("tr.vline"), before = row.previousElementSibling;
      if (before && before.querySelector("input.memo").value) {
        el.value = before.querySelector("input.memo").value;  // the last 摘要 carries down
        el.select();
      }
    }
  });

  form.addEventListener("focusout", function (e) {
    var el = e.target;
    if (el.classList.contains("account")) { setTimeout(function () { closeList(el); }, 150); }
  });

  form.addEventListener("keydown", function (e) {
    var el = e.target;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
      return;
    }
    if (el.classList.contains("account")) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); move(el, e.key === "ArrowDown" ? 1 : -1); return; }
      if (e.key === "Escape") { closeList(el); return; }
      if (e.key === "Enter" || e.key === "Tab") {
        var item = picked(el);
        if (item) { choose(el, item); }
      }
    }
    if (el.classList.contains("amount") && e.key === "=") {
      e.preventDefault();
      var s = totals(), own = toFen(el.value) || 0;
      var gap = el.classList.contains("debit") ? (s.credit - (s.debit - own)) : (s.debit - (s.credit - own));
      el.value = gap > 0 ? money(gap).replace(/,/g, "") : "";
      refresh();
      return;
    }
    if (e.key === "Enter" && el.tagName !== "BUTTON" && el.tagName !== "TEXTAREA") {
      e.preventDefault();
      next(el);
    }
  });

  var add = document.getElementById("add-line");
  add.hidden = false;
  add.addEventListener("click", function () { addRow().querySelector("input.memo").focus(); });

  rows().forEach(showDims);
  refresh();
  // The focus is put here, not by the markup's autofocus: focus and selection land together, so
  // nothing typed before this script ran meets a full, unselected date (its maxlength drops it).
  // A refused voucher comes back with its faults beside their fields: the first of them has the focus;
  // otherwise the date, unless the user has already gone to another field.
  var fault = form.querySelector('[aria-invalid="true"]');
  var idle = !document.activeElement || document.activeElement === document.body;
  var start = fault || (idle ? form.elements.date : null);
  if (start) {
    start.focus();
    if (start.select) { start.select(); }
  }
})();
