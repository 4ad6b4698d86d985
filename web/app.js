// Sentrycam dashboard: camera grid, full view (#/camera/<id>), a camera's recordings
// (#/recordings/<id>[/<ms>]), the settings (#/settings..., admins: settings.js), notice bar,
// polling, the storage indicator (admins), the user menu (account.js), and the live
// channel's parts: alert banners, event list and clips, arming, motion regions.
//
// Public test/benchmark hook (kept up to date at all times):
//   window.sentrycam = {
//     latencies:   [ms, ...]            glass-to-glass measurements, last 10000, all cameras
//     lastLatency: {cameraId: ms}       most recent measurement per camera
//     frames:      {cameraId: count}    frames presented since page load
//     state:       {cameraId: 'connecting'|'live'|'reconnecting'|'offline'|'idle'}
//     ws:          {state: 'open'|'connecting'|'closed', lastId, received, connects}
//                                      the live WebSocket (live.js)
//     alerts:      count                alert banners shown since page load (alerts.js)
//     regions:     {cameraId: [[x, y, w, h], ...]}  motion boxes drawn now (normalised)
//     regionsCleared: {cameraId: 'end'|'hold'}  why the boxes last went (tile.js)
//     path:        {cameraId: 'direct'|'relayed'|null}  the chosen ICE path (tile.js)
//     netcheck:    {summary, path}      the connection check's last result (netcheck.js)
//     playback:    {camera, recording, kind, at, playing, switches} | null
//                                      the recordings view's player (recordings.js)
//     notifications: {available, reason, subscribed, devices}  (notifications.js)
//     tuner:       {reports, last, trial} the motion tuner, while open (tuner.js)
//   }
// Latency is measured while a tile's stats overlay is open, or always with ?measure=1
// (which sets window.sentrycamLatency = true; tests may also set that flag directly).

import { initAccount } from '/account.js';
import { Alerts } from '/alerts.js';
import { EventList } from '/events.js';
import { SYSTEM_CAMERA, setSystemHref } from '/format.js';
import { getJson, UnauthorizedError } from '/http.js';
import { initMeasurementFromUrl } from '/latency.js';
import { LiveClient } from '/live.js';
import { initNetcheck } from '/netcheck.js';
import { NotificationsPanel } from '/notifications.js';
import { qualityFor } from '/quality.js';
import { RecordingsView } from '/recordings.js';
import { ControlsPanel, DeviceOffers } from '/devices.js';
import { SettingsView } from '/settings.js';
import { StorageIndicator } from '/storage.js';
import { SystemPanel } from '/system.js';
import { Tile } from '/tile.js';

const POLL_MS = 10000; // camera list + snapshot refresh
const POLL_RETRY_MS = 3000; // while the server is unreachable
const DISMISSED_KEY = 'sentrycam.dismissedNotice';
const STATUS_POLL_DELAY_MS = 300; // a camera went on/offline: refresh the list soon

const live = new LiveClient();
const metrics = {
  latencies: [],
  lastLatency: {},
  frames: {},
  state: {},
  ws: live.status,
  alerts: 0,
  regions: {},
  regionsCleared: {},
  playback: null,
};
window.sentrycam = metrics;

const tiles = new Map(); // camera id -> Tile, in server order
const els = {};
let serverReachable = true;
let pollTimer = 0;
let polling = false;
let fullId = null; // camera currently in full view
let shownRoute = ''; // the route the page shows now (to act on changes only)
// Views opened by moving deeper in the dashboard (grid -> camera -> recordings): closing one
// can then just go back in history.
let backSteps = 0;
const DEPTH = { grid: 0, camera: 1, recordings: 2, settings: 1 };
const names = new Map(); // camera id -> display name
const armed = new Map(); // camera id -> armed, from the live channel
let eventList = null;
let alerts = null;
let storage = null;
let deviceOffers = null; // new webcams (admins; devices.js)
let controlsPanel = null; // the full view's webcam controls (admins; devices.js)
let recordingsView = null;
let settingsView = null;
let statusPollTimer = 0;
let notifications = null;
let revealedEvent = null; // the event #/events/<id> showed last

function init() {
  initMeasurementFromUrl();
  for (const id of ['grid', 'notice', 'banner', 'empty', 'summary', 'version']) {
    els[id] = document.getElementById(id);
  }
  els.notice.querySelector('.notice-close').addEventListener('click', dismissNotice);
  window.addEventListener('hashchange', onHashChange);
  document.addEventListener('visibilitychange', onVisibilityChange);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && fullId && !recordingsView?.isOpen) closeFullView();
  });
  // End every session when the page goes away; pageshow covers the back/forward cache.
  window.addEventListener('pagehide', () => tiles.forEach((tile) => tile.pause()));
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) applyRoute();
  });
  loadVersion();
  registerServiceWorker();
  initAccount({
    onLogout: () => tiles.forEach((tile) => tile.pause()),
    onSignedIn: (me) => {
      const admin = me.role === 'admin';
      setSystemHref(admin ? '#storage' : '#events'); // the storage panel is for admins
      eventList?.setAccess({ admin, everyCamera: me.cameras === null });
      storage?.setEnabled(admin);
      notifications?.setAccess({ everyCamera: admin || me.cameras === null });
      deviceOffers?.setEnabled(admin);
      controlsPanel?.setAdmin(admin);
      document.getElementById('settings-link').hidden = !admin;
    },
  });
  initNetcheck(document.getElementById('netcheck'), {
    currentPath: () =>
      [...tiles.values()].map((tile) => tile.player.path).find((path) => path) ?? null,
  });
  initLive();
  poll();
}

// ---- live channel: alerts, events, arming, regions --------------------------------------

function initLive() {
  const cameraName = (id) => (id === SYSTEM_CAMERA ? 'System' : (names.get(id) ?? id));
  eventList = new EventList(document.getElementById('events'), {
    live,
    cameraName,
    onAcknowledged: (event) => alerts.acknowledged(event),
  });
  alerts = new Alerts(document.getElementById('alerts'), {
    live,
    metrics,
    cameraName,
    onAcknowledged: (event) => eventList.upsert(event),
  });
  storage = new StorageIndicator(document.getElementById('storage'), { live });
  new SystemPanel(document.getElementById('system'), { live }).start();
  deviceOffers = new DeviceOffers(document.getElementById('devices'), { live });
  controlsPanel = new ControlsPanel(document.getElementById('camera-controls'));
  recordingsView = new RecordingsView(document.getElementById('recordings'), {
    live,
    cameraName,
    metrics,
    onClose: closeRecordings,
  });
  notifications = new NotificationsPanel(document.getElementById('notifications'), {
    cameraName,
  });
  metrics.notifications = notifications.state;
  notifications.start();
  settingsView = new SettingsView(document.getElementById('settings'), {
    live,
    onClose: () => closeView('#/'),
  });
  live.subscribe(onLiveMessage);
  live.start();
}

// ---- the service worker: offline start, Web Push, notification taps ---------------------

function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
    // No worker: no offline start and no push; the notifications panel says why.
  });
  // A notification was tapped while this dashboard was open: show its event here.
  navigator.serviceWorker.addEventListener('message', (event) => {
    if (event.data?.type !== 'sentrycam-open') return;
    const url = new URL(event.data.url, location.href);
    if (url.origin === location.origin) location.hash = url.hash || '#/';
  });
}

function onLiveMessage(message) {
  switch (message.type) {
    case 'hello':
      for (const camera of message.cameras ?? []) {
        if (typeof camera.armed === 'boolean') setArmed(camera.camera, camera.armed);
      }
      break;
    case 'armed':
      setArmed(message.camera, message.armed);
      break;
    case 'talk':
      tiles.get(message.camera)?.setTalker(message.talking ? message.user : null);
      break;
    case 'camera':
    case 'config': // a camera added, changed or removed
      // Status changed: the camera list (and its tiles) catch up now, not at the next poll.
      clearTimeout(statusPollTimer);
      statusPollTimer = setTimeout(poll, STATUS_POLL_DELAY_MS);
      break;
    case 'event':
      if (message.event) tiles.get(message.event.camera)?.onEvent(message);
      break;
    case 'resync':
      tiles.forEach((tile) => tile.chart.refreshSoon());
      break;
    default:
      break;
  }
}

function setArmed(id, value) {
  armed.set(id, Boolean(value));
  tiles.get(id)?.setArmed(value);
}

// ---- camera list ---------------------------------------------------------------------

async function poll() {
  if (polling) return;
  polling = true;
  clearTimeout(pollTimer);
  try {
    const data = await getJson('/api/cameras');
    setServerReachable(true);
    renderNotice(data.notice ?? null);
    syncTiles(data.cameras ?? []);
    renderSummary(data.cameras ?? []);
  } catch (err) {
    if (err instanceof UnauthorizedError) return; // redirecting to /login
    setServerReachable(false);
  } finally {
    polling = false;
  }
  if (!document.hidden) {
    tiles.forEach((tile) => {
      if (!fullId || tile.id === fullId) tile.refreshPoster(); // only tiles on screen
    });
  }
  pollTimer = setTimeout(poll, serverReachable ? POLL_MS : POLL_RETRY_MS);
}

/** Create, update, reorder and remove tiles to match the server's camera list. */
function syncTiles(cameras) {
  const seen = new Set();
  names.clear();
  for (const camera of cameras) names.set(camera.id, camera.name || camera.id);
  eventList?.setCameras(cameras);
  notifications?.setCameras(cameras);
  cameras.forEach((camera, index) => {
    seen.add(camera.id);
    let tile = tiles.get(camera.id);
    if (tile) {
      tile.update(camera);
    } else {
      tile = new Tile(camera, metrics, { onOpen: openFullView, onClose: closeFullView, onUnmute });
      tiles.set(camera.id, tile);
      if (armed.has(camera.id)) tile.setArmed(armed.get(camera.id));
      else tile.loadArmed();
    }
    const slot = els.grid.children[index] ?? null;
    if (slot !== tile.el) els.grid.insertBefore(tile.el, slot);
  });
  for (const [id, tile] of tiles) {
    if (!seen.has(id)) {
      tile.destroy();
      tiles.delete(id);
      delete metrics.frames[id];
    }
  }
  els.empty.hidden = cameras.length > 0;
  els.grid.dataset.count = String(cameras.length); // CSS picks the column count
  applyRoute();
}

function renderSummary(cameras) {
  const online = cameras.filter((camera) => camera.status === 'online').length;
  els.summary.textContent = cameras.length ? `${online} of ${cameras.length} online` : '';
}

function setServerReachable(reachable) {
  if (reachable === serverReachable) return;
  serverReachable = reachable;
  els.banner.hidden = reachable;
  // The server is back (e.g. restarted): don't wait out the backoff.
  if (reachable) tiles.forEach((tile) => tile.player.retryNow());
}

async function loadVersion() {
  try {
    const health = await getJson('/api/health');
    els.version.textContent = health.version ? `Sentrycam ${health.version}` : 'Sentrycam';
  } catch {
    // Not important; poll() reports an unreachable server.
  }
}

// ---- notice bar ----------------------------------------------------------------------

function renderNotice(notice) {
  const dismissed = readDismissed();
  const show = Boolean(notice) && notice !== dismissed;
  els.notice.hidden = !show;
  if (show) els.notice.querySelector('.notice-text').textContent = notice;
}

function dismissNotice() {
  const text = els.notice.querySelector('.notice-text').textContent;
  els.notice.hidden = true;
  try {
    sessionStorage.setItem(DISMISSED_KEY, text); // same notice stays hidden this session
  } catch {
    // Storage may be unavailable (private mode); dismissal then lasts until the next poll.
  }
}

function readDismissed() {
  try {
    return sessionStorage.getItem(DISMISSED_KEY);
  } catch {
    return null;
  }
}

// ---- routing: grid vs full view ------------------------------------------------------

/**
 * What a URL's fragment shows: {view: 'grid'}, {view: 'camera', id} (#/camera/<id>) or
 * {view: 'recordings', id, at} (#/recordings/<id>, optionally /<ms since the epoch>), or
 * the grid with one event shown in the list: {view: 'grid', event} (#/events/<id>, the
 * link a notification opens).
 */
function parseRoute(url = location.href) {
  const hash = url.includes('#') ? url.slice(url.indexOf('#')) : '';
  const event = /^#\/events\/(\d{1,15})$/.exec(hash);
  if (event) return { view: 'grid', event: Number(event[1]) };
  let match = /^#\/recordings\/([^/]+)(?:\/(\d{1,15}))?$/.exec(hash);
  if (match) {
    const at = match[2] ? Number(match[2]) : null;
    return { view: 'recordings', id: decodeURIComponent(match[1]), at };
  }
  match = /^#\/camera\/(.+)$/.exec(hash);
  if (match) return { view: 'camera', id: decodeURIComponent(match[1]) };
  match = /^#\/settings(\/.*)?$/.exec(hash);
  if (match) return { view: 'settings', rest: match[1] ?? '' };
  return { view: 'grid' };
}

function onHashChange(event) {
  // Went deeper by tapping a tile or link: "close" can simply go back.
  const before = parseRoute(event.oldURL);
  const now = parseRoute();
  if (DEPTH[now.view] > DEPTH[before.view]) backSteps += 1;
  else if (DEPTH[now.view] < DEPTH[before.view]) backSteps = Math.max(0, backSteps - 1);
  else backSteps = 0; // sideways (another camera): going back would not mean "close"
  applyRoute();
}

/** Make the page match the URL: which tile is full, which tiles stream, recordings. */
function applyRoute() {
  const route = parseRoute();
  const settings = route.view === 'settings';
  document.body.classList.toggle('is-settings-view', settings);
  if (settings) settingsView.open(route.rest);
  else if (settingsView.isOpen) settingsView.close();
  const known = route.view !== 'grid' && tiles.has(route.id); // unknown camera: the grid
  const full = known && route.view === 'camera' ? route.id : null;
  const recordings = known && route.view === 'recordings' ? route.id : null;
  const changed = full !== fullId;
  fullId = full;
  document.body.classList.toggle('is-full-view', Boolean(full));
  document.body.classList.toggle('is-recordings-view', Boolean(recordings));
  const narrow = window.matchMedia('(max-width: 700px)').matches;
  const saveData = Boolean(navigator.connection?.saveData);
  for (const [tileId, tile] of tiles) {
    tile.setFull(tileId === full);
    tile.player.setQuality(
      qualityFor({ full: tileId === full, narrow, tiles: tiles.size, saveData }),
    );
    // The grid streams every camera; the full view streams only its camera; none behind
    // the recordings (their viewer slots and the phone's data go to the playback).
    const shouldPlay =
      !document.hidden && !recordings && !settings && (full === null || tileId === full);
    if (shouldPlay) tile.play();
    else tile.pause();
  }
  if (full || recordings) eventList.pauseClip(); // it would play on, unseen, under the view
  const key = recordings ? `${recordings}/${route.at ?? ''}` : '';
  if (key !== shownRoute) {
    shownRoute = key;
    if (recordings) recordingsView.open(recordings, route.at);
    else recordingsView.close();
  }
  if (changed) controlsPanel?.show(full);
  if (changed && full) tiles.get(full).closeBtn.focus({ preventScroll: true });
  if (route.event && route.event !== revealedEvent) {
    revealedEvent = route.event;
    eventList.reveal(route.event);
  }
}

function openFullView(id) {
  location.hash = `#/camera/${encodeURIComponent(id)}`;
}

function closeFullView() {
  closeView('#/');
}

function closeRecordings() {
  const id = recordingsView.camera;
  closeView(id ? `#/camera/${encodeURIComponent(id)}` : '#/');
}

function closeView(parent) {
  if (backSteps > 0) history.back();
  else location.hash = parent;
}

function onVisibilityChange() {
  // Hidden tabs get no frames (the stall detector would fire) and mobile browsers freeze
  // them anyway: end the sessions, free the viewer slots, and reconnect when visible.
  applyRoute();
  if (!document.hidden) poll();
}

/** Only one camera plays sound at a time. */
function onUnmute(unmuted) {
  tiles.forEach((tile) => {
    if (tile !== unmuted) tile.video.muted = true;
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
