/* The query page: YASGUI on this site's SPARQL endpoint, one tab per example query.
   Reads its settings from the JSON block #yasgui-config; calls no host but the endpoint. */
(function () {
  "use strict";
  var host = document.getElementById("yasgui");
  var block = document.getElementById("yasgui-config");
  if (!host || !block || !window.Yasgui) { return; }
  var config = JSON.parse(block.textContent);
  var Yasgui = window.Yasgui;

  // The "class" and "property" autocompleters query lov.linkeddata.es as one types: take them out entirely.
  // "prefixes" uses the list bundled in yasgui.min.js as long as prefixCcApi stays unset (no prefix.cc call).
  var offline = ["prefixes", "variables"];
  Object.keys(Yasgui.Yasqe.Autocompleters).forEach(function (name) {
    if (offline.indexOf(name) < 0) { delete Yasgui.Yasqe.Autocompleters[name]; }
  });
  // Mutated in place: lodash-style merges of the config would otherwise keep the default array's entries.
  var defaults = Yasgui.Yasqe.defaults.autocompleters;
  defaults.splice(0, defaults.length);
  Array.prototype.push.apply(defaults, offline);
  Yasgui.Yasqe.defaults.prefixCcApi = null;

  var yasgui = new Yasgui(host, {
    requestConfig: { endpoint: config.endpoint },
    copyEndpointOnNewTab: true,
    persistenceId: null,           // no localStorage: every visit starts from the examples given by the server
    autoAddOnInit: false,
    endpointCatalogueOptions: {    // suggest only this endpoint, not the public ones built in
      getData: function () { return [{ endpoint: config.endpoint }]; },
      keys: []
    }
  });
  var examples = config.examples || [];
  examples.forEach(function (example, index) {
    yasgui.addTab(index === 0, {
      name: example.name,
      yasqe: { value: example.query },
      requestConfig: { endpoint: config.endpoint }
    });
  });
  if (examples.length === 0) { yasgui.addTab(true); }
})();
