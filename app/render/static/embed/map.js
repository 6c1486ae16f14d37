// Sirkel's embeddable map (GET /embed/map). Reads its settings from the page's
// <script type="application/json" id="sirkel-config">, builds a MapLibre style from Sirkel's
// own tiles and glyphs, and keeps a list of what is in view beside the map: the same data
// for keyboard and screen-reader users. No inline script, nothing loaded from elsewhere.
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('sirkel-config').textContent);
  var words = config.strings;
  var origin = window.location.origin;
  var state = { kind: config.filters.kind, mode: config.filters.mode };
  var ACCENT = '#0b5c4a';
  var KIND_COLOURS = {
    item: '#0b5c4a',
    repair_service: '#8a3b12',
    material: '#5b4a9e',
    energy: '#a3123a',
    space: '#1f5f99'
  };

  // A URL template on Sirkel's origin. (Not new URL(): it would percent-encode {z}.)
  function here(path) {
    return path.charAt(0) === '/' ? origin + path : path;
  }

  function listingsTiles() {
    var query = new URLSearchParams();
    var fixed = config.filters;
    ['kommune', 'fylke', 'category'].forEach(function (name) {
      if (fixed[name]) query.set(name, fixed[name]);
    });
    if (state.kind) query.set('kind', state.kind);
    if (state.mode) query.set('mode', state.mode);
    var text = query.toString();
    return here(config.tiles.listings) + (text ? '?' + text : '');
  }

  function style() {
    var sources = {
      boundaries: {
        type: 'vector',
        tiles: [here(config.tiles.boundaries)],
        maxzoom: config.zoom.boundaries_max,
        attribution: config.attribution
      },
      listings: { type: 'vector', tiles: [listingsTiles()], maxzoom: 16 }
    };
    var layers = [{ id: 'sea', type: 'background', paint: { 'background-color': '#d7e6ee' } }];
    if (config.basemap) {
      sources.basemap = {
        type: 'raster',
        tiles: [config.basemap.tiles],
        tileSize: 256,
        maxzoom: config.basemap.max_zoom,
        attribution: config.basemap.attribution
      };
      layers.push({ id: 'basemap', type: 'raster', source: 'basemap' });
    } else {
      layers.push({
        id: 'land', type: 'fill', source: 'boundaries', 'source-layer': 'fylker',
        paint: { 'fill-color': '#f3f1ea' }
      });
    }
    var selected = config.filters.kommune || config.filters.fylke;
    var selectedLayer = config.filters.kommune ? 'kommuner' : 'fylker';
    if (selected) {
      layers.push({
        id: 'selected-fill', type: 'fill', source: 'boundaries', 'source-layer': selectedLayer,
        filter: ['==', ['get', 'nummer'], selected],
        paint: { 'fill-color': '#ffffff', 'fill-opacity': config.basemap ? 0.25 : 0.9 }
      });
    }
    layers.push(
      {
        id: 'kommune-lines', type: 'line', source: 'boundaries', 'source-layer': 'kommuner',
        paint: { 'line-color': '#a7b0ba', 'line-width': 0.7 }
      },
      {
        id: 'fylke-lines', type: 'line', source: 'boundaries', 'source-layer': 'fylker',
        paint: { 'line-color': '#76808c', 'line-width': 1.2 }
      }
    );
    if (selected) {
      layers.push({
        id: 'selected-line', type: 'line', source: 'boundaries', 'source-layer': selectedLayer,
        filter: ['==', ['get', 'nummer'], selected],
        paint: { 'line-color': ACCENT, 'line-width': 2.5 }
      });
    }
    layers.push(
      {
        id: 'area-labels', type: 'symbol', source: 'boundaries', 'source-layer': 'labels',
        layout: {
          'text-field': ['get', 'navn'],
          'text-font': ['Noto Sans Regular'],
          'text-size': ['case', ['==', ['get', 'level'], 'fylke'], 13, 12],
          'text-max-width': 8
        },
        paint: { 'text-color': '#4a525c', 'text-halo-color': '#ffffff', 'text-halo-width': 1.4 }
      },
      {
        id: 'clusters', type: 'circle', source: 'listings', 'source-layer': 'listings',
        filter: ['has', 'count'],
        paint: {
          'circle-color': ACCENT,
          'circle-radius': ['step', ['get', 'count'], 13, 10, 17, 100, 22, 1000, 28],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 2
        }
      },
      {
        id: 'cluster-counts', type: 'symbol', source: 'listings', 'source-layer': 'listings',
        filter: ['has', 'count'],
        layout: {
          'text-field': ['to-string', ['get', 'count']],
          'text-font': ['Noto Sans Bold'],
          'text-size': 12,
          'text-allow-overlap': true,
          'text-ignore-placement': true
        },
        paint: { 'text-color': '#ffffff' }
      },
      {
        id: 'points', type: 'circle', source: 'listings', 'source-layer': 'listings',
        filter: ['!', ['has', 'count']],
        paint: {
          'circle-color': ['match', ['get', 'kind']].concat(
            Object.keys(KIND_COLOURS).reduce(function (out, kind) {
              return out.concat([kind, KIND_COLOURS[kind]]);
            }, []),
            [ACCENT]
          ),
          'circle-radius': 7,
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 2
        }
      }
    );
    return {
      version: 8,
      glyphs: here(config.tiles.glyphs),
      sources: sources,
      layers: layers
    };
  }

  function describe(props) {
    var parts = [words.kinds[props.kind] || props.kind];
    if (props.mode) parts.push(words.modes[props.mode] || props.mode);
    return parts.join(' · ');
  }

  function listingUrl(id) {
    return here(config.listing_url.replace('{id}', encodeURIComponent(id)));
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  maplibregl.setWorkerUrl(here(config.worker));
  var map = new maplibregl.Map({
    container: 'map',
    style: style(),
    bounds: config.bounds,
    fitBoundsOptions: { padding: 24 },
    cooperativeGestures: true,
    attributionControl: { compact: true },
    locale: words.maplibre
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  var popup = new maplibregl.Popup({ closeButton: true, maxWidth: '240px' });

  function openPopup(feature) {
    var props = feature.properties;
    var box = element('div', { class: 'popup' });
    if (props.photo) {
      box.appendChild(element('img', {
        src: here(props.photo),
        alt: words.photo_of.replace('{title}', props.title),
        width: '220',
        height: '165'
      }));
    }
    box.appendChild(element('h3', {}, props.title));
    box.appendChild(element('p', {}, describe(props)));
    box.appendChild(element('a', {
      href: listingUrl(props.id), target: '_blank', rel: 'noopener'
    }, words.open));
    popup.setLngLat(feature.geometry.coordinates).setDOMContent(box).addTo(map);
  }

  function zoomInto(coordinates) {
    map.easeTo({ center: coordinates, zoom: Math.min(map.getZoom() + 2, config.zoom.points) });
  }

  map.on('click', 'clusters', function (event) {
    zoomInto(event.features[0].geometry.coordinates);
  });
  map.on('click', 'points', function (event) {
    openPopup(event.features[0]);
  });
  ['clusters', 'points'].forEach(function (layer) {
    map.on('mouseenter', layer, function () { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', layer, function () { map.getCanvas().style.cursor = ''; });
  });

  // What is in view: points by id, clusters by position (a feature can come from two tiles).
  function inView() {
    var points = {};
    var clusters = {};
    map.queryRenderedFeatures({ layers: ['clusters', 'points'] }).forEach(function (feature) {
      if (feature.properties.count !== undefined) {
        clusters[feature.geometry.coordinates.join(',')] = feature;
      } else {
        points[feature.properties.id] = feature;
      }
    });
    var pointList = Object.keys(points).map(function (id) { return points[id]; });
    pointList.sort(function (a, b) { return a.properties.title.localeCompare(b.properties.title); });
    var clusterList = Object.keys(clusters).map(function (key) { return clusters[key]; });
    clusterList.sort(function (a, b) { return b.properties.count - a.properties.count; });
    var total = pointList.length + clusterList.reduce(function (sum, feature) {
      return sum + feature.properties.count;
    }, 0);
    return { points: pointList, clusters: clusterList, total: total };
  }

  var summary = document.getElementById('list-summary');
  var items = document.getElementById('list-items');
  var shown = '';

  function updateList() {
    var view = inView();
    var key = view.points.map(function (f) { return f.properties.id; }).join() + '|' +
      view.clusters.map(function (f) { return f.geometry.coordinates.join() + ':' + f.properties.count; }).join();
    // For whoever drives the page (the tests): what is in view, and how often the map settled.
    window.sirkel.view = { total: view.total, points: view.points.length, clusters: view.clusters.length };
    window.sirkel.idles += 1;
    document.body.dataset.ready = 'true';
    if (key === shown) return;
    shown = key;
    summary.textContent = view.total === 0 ? words.none_in_view
      : view.total === 1 ? words.in_view_one
        : words.in_view_many.replace('{count}', view.total);
    items.replaceChildren();
    view.points.forEach(function (feature) {
      var props = feature.properties;
      var item = element('li', { 'data-id': props.id });
      item.appendChild(element('strong', {}, props.title));
      item.appendChild(element('span', { class: 'what' }, describe(props)));
      var show = element('button', { type: 'button' }, words.show_on_map);
      show.addEventListener('click', function () { openPopup(feature); });
      item.appendChild(show);
      item.appendChild(document.createTextNode(' '));
      item.appendChild(element('a', {
        href: listingUrl(props.id), target: '_blank', rel: 'noopener'
      }, words.open));
      items.appendChild(item);
    });
    view.clusters.forEach(function (feature) {
      var item = element('li', { class: 'cluster' });
      var count = feature.properties.count;
      item.appendChild(element('strong', {},
        count === 1 ? words.cluster_one : words.cluster.replace('{count}', count)));
      var zoom = element('button', { type: 'button' }, words.zoom_in);
      zoom.addEventListener('click', function () { zoomInto(feature.geometry.coordinates); });
      item.appendChild(document.createTextNode(' '));
      item.appendChild(zoom);
      items.appendChild(item);
    });
  }

  map.on('idle', updateList);

  document.querySelectorAll('.chip').forEach(function (chip) {
    chip.addEventListener('click', function () {
      var filter = chip.dataset.filter;
      state[filter] = chip.dataset.value || null;
      document.querySelectorAll('.chip[data-filter="' + filter + '"]').forEach(function (other) {
        other.setAttribute('aria-pressed', other === chip ? 'true' : 'false');
      });
      popup.remove();
      map.getSource('listings').setTiles([listingsTiles()]);
    });
  });

  window.sirkel = { map: map, view: null, idles: 0 };
})();
