/* vlmbench report/site: column sorting and row filters. No network, no inline code, no eval.
 *
 * Sorting: click (or Enter/Space on) a <th> of a table.sortable. Numbers sort by the
 * td's data-sort attribute (empty = missing, always last); text sorts case-insensitively.
 * A second click on the same header reverses the order.
 * Filters: <select data-filter="hardware|size|weights|stack">; a row is shown when every filter is
 * empty ("all") or equals the row's data-<filter> attribute. Sections with no shown row hide.
 */
(function () {
  "use strict";

  function cellKey(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell ? cell.getAttribute("data-sort") : "";
    if (raw === null) { raw = cell.textContent; }
    if (!numeric) { return raw.toLowerCase(); }
    return raw === "" ? null : parseFloat(raw);
  }

  function sortTable(table, th) {
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute("data-sort-type") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var ka = cellKey(a, index, numeric), kb = cellKey(b, index, numeric);
      if (ka === kb) { return 0; }
      if (ka === null) { return 1; }
      if (kb === null) { return -1; }
      var order = ka < kb ? -1 : 1;
      return ascending ? order : -order;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.children, function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function applyFilters() {
    var selects = document.querySelectorAll("select[data-filter]");
    var wanted = {};
    Array.prototype.forEach.call(selects, function (s) { wanted[s.getAttribute("data-filter")] = s.value; });
    Array.prototype.forEach.call(document.querySelectorAll("table.results tbody tr"), function (row) {
      var show = Object.keys(wanted).every(function (name) {
        return wanted[name] === "" || row.getAttribute("data-" + name) === wanted[name];
      });
      row.hidden = !show;
    });
    Array.prototype.forEach.call(document.querySelectorAll("section.hardware"), function (section) {
      var visible = section.querySelectorAll("table.results tbody tr:not([hidden])").length;
      section.hidden = visible === 0;
    });
    var counter = document.getElementById("shown-count");
    if (counter) {
      counter.textContent = String(document.querySelectorAll("table.results tbody tr:not([hidden])").length);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable thead th"), function (th) {
      th.addEventListener("click", function () { sortTable(th.closest("table"), th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(th.closest("table"), th); }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("select[data-filter]"), function (s) {
      s.addEventListener("change", applyFilters);
    });
    applyFilters();
    document.documentElement.setAttribute("data-ready", "1");
  });
}());
