// The builder (GET /embed): the chosen place, filters and language become the map's URL,
// shown in the preview and written into an <iframe> snippet to copy.
(function () {
  'use strict';

  var form = document.getElementById('builder');
  var snippet = document.getElementById('snippet');
  var preview = document.getElementById('preview');
  var status = document.getElementById('copy-status');
  var numbers = document.getElementById('numbers-snippet');

  function mapUrl() {
    var query = new URLSearchParams();
    var place = form.elements.place.value;
    if (place) {
      var parts = place.split(':');
      query.set(parts[0], parts[1]);
    }
    ['kind', 'mode'].forEach(function (name) {
      if (form.elements[name].value) query.set(name, form.elements[name].value);
    });
    query.set('lang', form.elements.lang.value);
    return '/embed/map?' + query.toString();
  }

  function escapeAttribute(text) {
    return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  }

  function update() {
    var url = mapUrl();
    var title = form.elements.place.selectedOptions[0].textContent;
    preview.src = url;
    snippet.value = '<iframe src="' + escapeAttribute(window.location.origin + url) +
      '" title="' + escapeAttribute(title) + '" width="100%" height="520" ' +
      'style="border:0" loading="lazy"></iframe>';
    var place = form.elements.place.value.split(':');
    if (place[0] === 'kommune') {
      numbers.value = '<iframe src="' + escapeAttribute(window.location.origin +
        '/embed/impact?kommune=' + place[1] + '&lang=' + form.elements.lang.value) +
        '" title="' + escapeAttribute(title) + '" width="100%" height="560" ' +
        'style="border:0" loading="lazy"></iframe>';
    } else {
      numbers.value = numbers.dataset.none;
    }
    status.textContent = '';
  }

  form.addEventListener('change', update);
  document.getElementById('copy').addEventListener('click', function () {
    snippet.select();
    var done = function () { status.textContent = form.dataset.copied; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(snippet.value).then(done, function () {
        document.execCommand('copy');
        done();
      });
    } else {
      document.execCommand('copy');
      done();
    }
  });
  update();
})();
