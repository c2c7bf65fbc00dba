/* Progressive enhancement only: every page works without this file; the server decides.
 * - focus moves to the error summary;
 * - conditional fields show/hide live, evaluating each field's compiled `show_if` tree;
 * - cascading choices (khoroo by district) filter live;
 * - a submitted form's buttons are disabled to stop double submission.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js-enabled");

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // --- expression trees (see engine/compile/expressions.py: the `.tree` of a Compiled) ---------------
  function isNull(v) { return v === null || v === undefined || v === ""; }
  function num(v) { return typeof v === "number" ? v : (isNull(v) || isNaN(Number(v)) ? v : Number(v)); }
  function cmp(op, a, b) {
    if (isNull(a) || isNull(b)) return null;
    a = num(a); b = num(b);
    switch (op) {
      case "==": return a === b;
      case "!=": return a !== b;
      case "<": return a < b;
      case "<=": return a <= b;
      case ">": return a > b;
      case ">=": return a >= b;
    }
    return null;
  }
  var FUNCS = {
    count: function (x) { return Array.isArray(x) ? x.length : 0; },
    empty: function (x) { return isNull(x) || (Array.isArray(x) && x.length === 0); },
    lower: function (x) { return isNull(x) ? null : String(x).toLowerCase(); },
    upper: function (x) { return isNull(x) ? null : String(x).toUpperCase(); },
    sum: function (x) { return (x || []).reduce(function (s, v) { return s + (Number(v) || 0); }, 0); }
  };
  function evaluate(node, get) {
    if (node === null || typeof node !== "object") return node;
    var key = Object.keys(node)[0], arg = node[key], i, v, unknown;
    switch (key) {
      case "field": return get(arg);
      case "item": return null;
      case "list": return arg.map(function (n) { return evaluate(n, get); });
      case "part": v = evaluate(arg[0], get); return v && typeof v === "object" ? v[arg[1]] : null;
      case "pluck": return null;
      case "and":
        unknown = false;
        for (i = 0; i < arg.length; i++) { v = evaluate(arg[i], get); if (v === false) return false; if (v === null) unknown = true; }
        return unknown ? null : true;
      case "or":
        unknown = false;
        for (i = 0; i < arg.length; i++) { v = evaluate(arg[i], get); if (v === true) return true; if (v === null) unknown = true; }
        return unknown ? null : false;
      case "not": v = evaluate(arg, get); return v === null ? null : !v;
      case "neg": v = evaluate(arg, get); return isNull(v) ? null : -num(v);
      case "if": return evaluate(arg[0], get) === true ? evaluate(arg[1], get) : evaluate(arg[2], get);
      case "in": case "not in":
        var item = evaluate(arg[0], get), list = evaluate(arg[1], get);
        if (isNull(item) || !Array.isArray(list)) return null;
        var found = list.some(function (x) { return x === item || num(x) === num(item); });
        return key === "in" ? found : !found;
      case "+": case "-": case "*": case "/": case "%":
        var a = evaluate(arg[0], get), b = evaluate(arg[1], get);
        if (isNull(a) || isNull(b)) return null;
        if (key === "+" && typeof a === "string" && isNaN(Number(a))) return a + b;
        a = num(a); b = num(b);
        if (key === "+") return a + b;
        if (key === "-") return a - b;
        if (key === "*") return a * b;
        if (b === 0) return null;
        return key === "/" ? a / b : a % b;
      case "call":
        var fn = FUNCS[arg[0]];
        if (!fn) throw new Error("unsupported");  // e.g. age(): leave the server's decision in place
        return fn.apply(null, arg[1].map(function (n) { return evaluate(n, get); }));
    }
    if (["==", "!=", "<", "<=", ">", ">="].indexOf(key) >= 0) return cmp(key, evaluate(arg[0], get), evaluate(arg[1], get));
    throw new Error("unsupported");
  }

  function formValue(form, name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    if (!inputs.length) {
      var parts = form.querySelectorAll('[name^="' + name + '."]');
      if (!parts.length) return null;
      var obj = {};
      parts.forEach(function (p) { obj[p.name.slice(name.length + 1)] = p.value; });
      return obj;
    }
    var first = inputs[0];
    if (first.type === "radio") {
      var checked = form.querySelector('[name="' + name + '"]:checked');
      if (!checked) return null;
      return checked.value === "yes" ? true : checked.value === "no" ? false : checked.value;
    }
    if (first.type === "checkbox") {
      if (inputs.length === 1 && first.value === "yes") return first.checked;
      return Array.prototype.filter.call(inputs, function (i) { return i.checked; }).map(function (i) { return i.value; });
    }
    return first.value === "" ? null : first.value;
  }

  function refreshConditions(form) {
    var get = function (name) { return formValue(form, name); };
    form.querySelectorAll("[data-show-if]").forEach(function (wrapper) {
      var show;
      try { show = evaluate(JSON.parse(wrapper.getAttribute("data-show-if")), get) === true; }
      catch (e) { return; }
      wrapper.hidden = !show;
      var marker = wrapper.querySelector("[data-shown-marker]");
      if (marker) marker.disabled = !show;
    });
  }

  function refreshOptions(select, form) {
    var parent = form.querySelector('[name="' + select.getAttribute("data-depends-on") + '"]');
    if (!parent) return;
    var options = JSON.parse(select.getAttribute("data-options"));
    var current = select.value;
    while (select.options.length) select.remove(0);
    select.add(new Option(select.getAttribute("data-placeholder"), ""));
    options.forEach(function (o) {
      if (o.p === parent.value) select.add(new Option(o.l, o.v, false, o.v === current));
    });
    var wait = select.parentNode.querySelector("[data-wait-hint]");
    if (wait) wait.hidden = !!parent.value;
  }

  ready(function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
    document.querySelectorAll("[data-live-form]").forEach(function (form) {
      var focus = form.getAttribute("data-focus");
      if (focus && !summary) {
        var target = document.getElementById(focus);
        if (target) { var input = target.querySelector("input, select, textarea") || target; input.focus(); }
      }
      var selects = form.querySelectorAll("select[data-depends-on]");
      form.addEventListener("change", function () {
        selects.forEach(function (s) { refreshOptions(s, form); });
        refreshConditions(form);
      });
      form.addEventListener("input", function () { refreshConditions(form); });
      selects.forEach(function (s) { refreshOptions(s, form); });
      refreshConditions(form);
    });
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        window.setTimeout(function () {
          form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        }, 0);
      });
    });
  });
})();
