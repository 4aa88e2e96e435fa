// Liftoff dashboard: live updates and actions. Pages are rendered on the
// server; this script only (1) listens to the server-sent event stream and,
// when something the page shows changed, fetches the page's main element
// again and swaps it in (also when a page was served while the dashboard
// was still listing Releases: it fills in once they are listed), and
// (2) submits action forms with fetch, showing the answer (the API server's
// or the identity webhook's message) in place, and (3) says how long ago
// the times marked relative were, from their datetime, as time passes.
(function () {
  'use strict';
  var main = document.getElementById('main');
  var notice = document.getElementById('notice');
  var liveState = document.getElementById('live-state');
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';

  // loading tells whether the page shows a "still loading" notice.
  function loading() {
    return main.querySelector('[data-loading]') !== null;
  }

  function watched() {
    return (main.getAttribute('data-live') || '').split(/\s+/).filter(Boolean);
  }

  // relevant tells whether a batch of changes touches what the page shows.
  function relevant(changes) {
    var w = watched();
    return changes.some(function (c) {
      if (c.kind === '*') { return true; }
      return w.some(function (x) {
        var i = x.indexOf(':');
        var kind = i < 0 ? x : x.slice(0, i);
        var ref = i < 0 ? '' : x.slice(i + 1);
        return kind === c.kind && (ref === '' || ref === c.namespace + '/' + c.name);
      });
    });
  }

  var timer = null;
  var last = 0;
  var busy = false;
  var again = false;

  // schedule a refresh: at most one a second, never two at once.
  function schedule() {
    if (timer) { return; }
    var wait = Math.max(100, 1000 - (Date.now() - last));
    timer = setTimeout(refresh, wait);
  }

  function typing(el) {
    if (!el || !main.contains(el)) { return false; }
    var t = el.tagName;
    return t === 'TEXTAREA' || t === 'SELECT' || (t === 'INPUT' && el.type !== 'hidden' && el.type !== 'submit');
  }

  function refresh() {
    timer = null;
    if (busy) { again = true; return; }
    var active = document.activeElement;
    if (typing(active)) {
      // Do not pull the field from under the person typing in it.
      active.addEventListener('blur', schedule, { once: true });
      return;
    }
    busy = true;
    last = Date.now();
    var focusId = active && main.contains(active) ? active.id : '';
    fetch(window.location.href, { headers: { 'X-Liftoff-Fragment': 'main' }, credentials: 'same-origin' })
      .then(function (res) {
        // The server's own answer (a page, its error, "still loading") is
        // swapped in; anything else (a proxy's error page) is not.
        if (res.headers.get('X-Liftoff-Fragment') !== 'main') { return null; }
        var live = res.headers.get('X-Liftoff-Live');
        var title = res.headers.get('X-Liftoff-Title');
        return res.text().then(function (html) { return { html: html, live: live, title: title }; });
      })
      .then(function (page) {
        if (page === null) { return; }
        var wasLoading = loading();
        main.innerHTML = page.html;
        if (page.live !== null) { main.setAttribute('data-live', page.live); }
        if (page.title) { document.title = decodeURIComponent(page.title) + ' · Liftoff'; }
        ages();
        main.setAttribute('data-refreshed', String(Date.now()));
        if (wasLoading && !loading()) { show('Loaded: the page is complete.', false, 5000); }
        if (focusId) {
          var el = document.getElementById(focusId);
          if (el) { el.focus(); }
        }
      })
      .catch(function () { /* the stream reconnects; the next change refreshes */ })
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  function setState(s) {
    liveState.setAttribute('data-state', s);
    liveState.textContent = s;
  }

  function connect() {
    if (!window.EventSource) { setState('not live'); return; }
    var es = new EventSource('/events');
    es.addEventListener('open', function () {
      setState('live');
      // What finished loading before the stream opened sent no change we saw.
      if (loading()) { schedule(); }
    });
    es.addEventListener('error', function () { setState('reconnecting'); });
    es.addEventListener('change', function (e) {
      var changes;
      try { changes = JSON.parse(e.data); } catch (err) { return; }
      if (relevant(changes)) { schedule(); }
    });
  }

  // Relative times: the server writes each as an absolute time with its
  // zone (<time datetime data-relative>); the browser says how long ago
  // (or how long until) from the datetime, and keeps it true every 30 s.
  function relative(ms) {
    var s = Math.round(Math.abs(ms) / 1000);
    var t = s < 60 ? s + 's' : s < 3600 ? Math.floor(s / 60) + 'm' : s < 172800 ? Math.floor(s / 3600) + 'h' : Math.floor(s / 86400) + 'd';
    return ms < 0 ? 'in ' + t : t + ' ago';
  }

  function ages() {
    var now = Date.now();
    main.querySelectorAll('time[data-relative]').forEach(function (el) {
      var at = Date.parse(el.getAttribute('datetime'));
      if (isNaN(at)) { return; }
      if (!el.hasAttribute('title')) { el.setAttribute('title', el.textContent); }
      el.textContent = relative(now - at);
    });
  }

  var clearing = null;

  // show puts a message in the notice; one given a lifetime (ms) goes away
  // by itself unless another replaced it.
  function show(msg, isError, lifetime) {
    notice.setAttribute('aria-live', isError ? 'assertive' : 'polite');
    notice.className = 'notice ' + (isError ? 'notice-error' : 'notice-ok');
    notice.textContent = msg;
    clearTimeout(clearing);
    clearing = lifetime ? setTimeout(function () { notice.textContent = ''; }, lifetime) : null;
  }

  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains('action')) { return; }
    ev.preventDefault();
    var data = new URLSearchParams(new FormData(form));
    if (ev.submitter && ev.submitter.name) { data.set(ev.submitter.name, ev.submitter.value); }
    var buttons = form.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: 'POST',
      body: data,
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json', 'X-CSRF-Token': csrf }
    }).then(function (res) {
      return res.json().catch(function () { return { error: res.status + ' ' + res.statusText }; })
        .then(function (body) {
          if (res.ok) { show(body.message, false); schedule(); } else { show(body.error, true); }
        });
    }).catch(function (err) {
      show('The dashboard did not answer: ' + err.message, true);
    }).then(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });

  ages();
  setInterval(ages, 30000);
  connect();
}());
