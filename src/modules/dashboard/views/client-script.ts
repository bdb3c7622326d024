// The dashboard's script, served at /dashboard/assets/dashboard.js. It keeps the server-rendered
// panels live from one server-sent-events stream (one connection, whatever the number of tasks:
// browsers allow only six per server), and reads the harvest module through its own HTTP API.
import { harvestScript } from './harvest-script.js';

export const dashboardJs = `'use strict';
(function () {
  // The key has done its work (it set the cookie): keep it out of the address bar and history.
  var here = new URL(location.href);
  if (here.searchParams.has('key')) {
    here.searchParams.delete('key');
    history.replaceState(null, '', here.pathname + here.search + here.hash);
  }

  var live = document.querySelector('[data-live]');
  function setLive(state, text) {
    live.setAttribute('data-live', state);
    live.textContent = text;
  }

  function connect() {
    var source = new EventSource('/dashboard/events');
    source.addEventListener('panels', function (event) {
      var panels = JSON.parse(event.data);
      Object.keys(panels).forEach(function (name) {
        var element = document.querySelector('[data-panel="' + name + '"]');
        if (element) element.innerHTML = panels[name];
      });
      setLive('live', 'live');
    });
    source.addEventListener('error', function () {
      if (source.readyState === EventSource.CLOSED) {
        // Closed for good (the server refused the stream): try again later, from scratch.
        setLive('down', 'disconnected');
        setTimeout(connect, 5000);
      } else {
        setLive('connecting', 'reconnecting…');
      }
    });
  }
  connect();
${harvestScript}
})();
`;
