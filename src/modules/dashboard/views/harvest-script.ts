// The part of the dashboard's script that shows recent harvests: the harvest module is another
// module, so the page reads its public HTTP API rather than anything inside the server.
export const harvestScript = `
  var harvest = document.querySelector('[data-panel="harvest"]');
  function escapeText(value) {
    return String(value == null ? '' : value).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function showHarvestProblem(message) {
    harvest.innerHTML = '<p class="unavailable"><strong>Not available</strong> — ' + escapeText(message) + '</p>';
  }
  function getJson(url) {
    return fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' }).then(function (response) {
      if (!response.ok) throw new Error(url + ' answered ' + response.status);
      return response.json();
    });
  }
  function loadHarvests() {
    getJson('/images_tasks?limit=5')
      .then(function (body) {
        var tasks = (Array.isArray(body) ? body : body.items || body.tasks || []).slice(0, 5);
        if (!tasks.length) {
          harvest.innerHTML = '<p class="empty">No harvests yet.</p>';
          return;
        }
        return Promise.all(tasks.map(function (task) {
          return getJson('/images_tasks/' + encodeURIComponent(task.id) + '/images?limit=8')
            .then(function (images) { return { task: task, images: Array.isArray(images) ? images : images.items || images.images || [] }; })
            .catch(function () { return { task: task, images: [] }; });
        })).then(function (entries) {
          harvest.innerHTML = '<div class="harvest">' + entries.map(function (entry) {
            var thumbs = entry.images.slice(0, 8).map(function (image) {
              var src = image.thumbnail_url || image.url || image.href;
              return src ? '<img src="' + escapeText(src) + '" alt="' + escapeText(image.alt || '') + '" loading="lazy">' : '';
            }).join('');
            return '<div class="harvest-task" data-harvest-id="' + escapeText(entry.task.id) + '">' +
              '<div class="harvest-head"><a class="harvest-url" href="' + escapeText(entry.task.url || '#') + '">' + escapeText(entry.task.url || entry.task.id) + '</a>' +
              '<span class="status status-' + escapeText(entry.task.status) + '">' + escapeText(entry.task.status) + '</span></div>' +
              (thumbs ? '<div class="thumbs">' + thumbs + '</div>' : '<p class="muted">no images</p>') + '</div>';
          }).join('') + '</div>';
        });
      })
      .catch(function (error) { showHarvestProblem(error.message); });
  }
  if (harvest && harvest.getAttribute('data-harvest') === 'on') {
    loadHarvests();
    setInterval(loadHarvests, 5000);
  }
`;
