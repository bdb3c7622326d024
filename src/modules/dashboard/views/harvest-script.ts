// The part of the dashboard's script that shows recent harvests: the harvest module is another
// module, so the page reads its public HTTP API (GET /images_tasks, GET /images_tasks/:id/images)
// rather than anything inside the server. Thumbnails are the images' WebP thumbnails, served by that API.
export const harvestScript = `
  var harvest = document.querySelector('[data-panel="harvest"]');
  var HARVEST_STATUS = { queued: 'queued', running: 'active', done: 'completed', failed: 'failed' };
  function escapeText(value) {
    return String(value == null ? '' : value).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function getJson(url) {
    return fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) throw new Error(url + ' answered ' + response.status);
      return response.json();
    });
  }
  function renderHarvest(task, images) {
    var stored = images.filter(function (image) { return image.href; });
    var thumbs = stored.slice(0, 8).map(function (image) {
      return '<a href="' + escapeText(image.href) + '" title="' + escapeText(image.src) + '"><img src="' + escapeText(image.thumbnail || image.href) + '" alt="" loading="lazy"></a>';
    }).join('');
    var more = stored.length > 8 ? '<span class="muted">+' + (stored.length - 8) + '</span>' : '';
    var status = HARVEST_STATUS[task.status] || 'queued';
    var summary = task.status === 'done' ? task.images_count + ' images' + (task.images_failed ? ', ' + task.images_failed + ' not stored' : '') : task.error || '';
    return '<div class="harvest-task" data-harvest-id="' + escapeText(task.id) + '">' +
      '<div class="harvest-head"><a class="harvest-url" href="/images_tasks/' + encodeURIComponent(task.id) + '" title="' + escapeText(task.url) + '">' + escapeText(task.url) + '</a>' +
      '<span class="status status-' + status + '">' + escapeText(task.status) + '</span></div>' +
      (summary ? '<div class="muted">' + escapeText(summary) + '</div>' : '') +
      (thumbs ? '<div class="thumbs">' + thumbs + more + '</div>' : '') + '</div>';
  }
  var lastHarvest = '';
  function loadHarvests() {
    getJson('/images_tasks?limit=5')
      .then(function (tasks) {
        return Promise.all(tasks.map(function (task) {
          if (task.status !== 'done') return { task: task, images: [] };
          return getJson('/images_tasks/' + encodeURIComponent(task.id) + '/images')
            .then(function (images) { return { task: task, images: images }; })
            .catch(function () { return { task: task, images: [] }; });
        }));
      })
      .then(function (entries) {
        var html = entries.length
          ? '<div class="harvest">' + entries.map(function (e) { return renderHarvest(e.task, e.images); }).join('') + '</div>'
          : '<p class="empty">No harvests yet.</p>';
        // Unchanged: leave the thumbnails alone rather than reload them.
        if (html !== lastHarvest) harvest.innerHTML = lastHarvest = html;
      })
      .catch(function (error) {
        lastHarvest = '';
        harvest.innerHTML = '<p class="unavailable"><strong>Not available</strong> — ' + escapeText(error.message) + '</p>';
      });
  }
  if (harvest && harvest.getAttribute('data-harvest') === 'on') {
    loadHarvests();
    setInterval(loadHarvests, 3000);
  }
`;
