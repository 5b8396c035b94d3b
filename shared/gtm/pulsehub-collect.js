/* PulseHub collector: drains window._pulsehubq (filled by the PulseHub
   Collect GTM tag) and posts each event to /collect as JSON with the write
   key in X-PulseHub-Key. Later pushes are sent at once. */
(function (w) {
  'use strict';
  if (w.__pulsehubCollector) { return; }
  w.__pulsehubCollector = true;
  function send(item) {
    if (!item || !item.endpoint || !item.event) { return; }
    try {
      w.fetch(item.endpoint, {
        method: 'POST',
        keepalive: true,
        mode: 'cors',
        credentials: 'omit',
        headers: {'Content-Type': 'application/json', 'X-PulseHub-Key': item.writeKey || ''},
        body: JSON.stringify({events: [item.event]})
      })['catch'](function () {});
    } catch (e) { /* never break the storefront */ }
  }
  var q = w._pulsehubq = w._pulsehubq || [];
  for (var i = 0; i < q.length; i++) { send(q[i]); }
  q.length = 0;
  q.push = function () {
    for (var j = 0; j < arguments.length; j++) { send(arguments[j]); }
    return 0;
  };
})(window);
