// The dashboard's script, served at /dashboard/assets/dashboard.js. It keeps the server-rendered
// panels live from one server-sent-events stream (one connection, whatever the number of tasks:
// browsers allow only six per server), posts its buttons, and reads the harvest module through its
// own HTTP API.
import { actionsScript } from './actions-script.js';
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

  // A panel is redrawn every second (its times move on): one whose button is being pressed waits
  // until the press ends, or the press would land on a button that is gone and click nothing.
  var pressedPanel = null;
  var waiting = {};
  function showPanel(name, html) {
    if (name === pressedPanel) return void (waiting[name] = html);
    var element = document.querySelector('[data-panel="' + name + '"]');
    if (element) element.innerHTML = html;
  }
  document.addEventListener('pointerdown', function (event) {
    var panel = event.target.closest && event.target.closest('button[data-action]') && event.target.closest('[data-panel]');
    pressedPanel = panel ? panel.getAttribute('data-panel') : null;
  });
  function pressEnded() {
    // after the click this press makes has been handled
    setTimeout(function () {
      pressedPanel = null;
      Object.keys(waiting).forEach(function (name) { showPanel(name, waiting[name]); });
      waiting = {};
    }, 0);
  }
  document.addEventListener('pointerup', pressEnded);
  document.addEventListener('pointercancel', pressEnded);

  // The request panel follows the range selector: the live stream draws it for all time; another
  // range is read from /dashboard/panels/stats, again at most every five seconds while it is chosen.
  var rangeSelect = document.querySelector('[data-stats-range-select]');
  var statsRange = 'all';
  var statsFetchedAt = 0;
  function loadStatsRange() {
    statsFetchedAt = Date.now();
    var asked = statsRange;
    fetch('/dashboard/panels/stats?range=' + encodeURIComponent(asked), { credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('the request panel answered ' + response.status);
        return response.text();
      })
      .then(function (html) { if (asked === statsRange) showPanel('stats', html); })
      .catch(function () { statsFetchedAt = 0; });
  }
  if (rangeSelect) {
    rangeSelect.addEventListener('change', function () {
      statsRange = rangeSelect.value;
      // back to all time too: the stream sends a panel only when it changed
      loadStatsRange();
    });
  }

  function connect() {
    var source = new EventSource('/dashboard/events');
    source.addEventListener('panels', function (event) {
      var panels = JSON.parse(event.data);
      if (statsRange !== 'all') {
        delete panels.stats;
        if (Date.now() - statsFetchedAt > 5000) loadStatsRange();
      }
      Object.keys(panels).forEach(function (name) { showPanel(name, panels[name]); });
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
${actionsScript}
${harvestScript}
})();
`;
