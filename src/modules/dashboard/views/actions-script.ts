// The part of the dashboard's script that posts its buttons (retry, cancel, pause, resume) to the
// action routes, with the page's CSRF token. It does not redraw anything itself: the server tells
// every open page through the live stream, so what a page shows is always what the queue holds.
export const actionsScript = `
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrfMeta ? csrfMeta.getAttribute('content') : '';
  var actionStatus = document.querySelector('[data-action-status]');
  function tellAction(text, failed) {
    if (!actionStatus) return;
    actionStatus.textContent = text;
    if (failed) actionStatus.setAttribute('data-failed', '');
    else actionStatus.removeAttribute('data-failed');
    actionStatus.hidden = false;
  }
  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('button[data-action]');
    if (!button || button.disabled) return;
    button.disabled = true;
    var label = button.getAttribute('aria-label') || button.textContent;
    fetch(button.getAttribute('data-action'), {
      method: 'POST',
      headers: { accept: 'application/json', 'x-csrf-token': csrfToken },
      credentials: 'same-origin',
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) throw new Error((body.error && body.error.message) || 'the server answered ' + response.status);
          tellAction(label + ': ' + (body.outcome || (body.retried !== undefined ? body.retried + ' retried' : body.paused ? 'paused' : 'resumed')), false);
        });
      })
      .catch(function (error) {
        button.disabled = false;
        tellAction(label + ' failed: ' + error.message, true);
      });
  });
`;
