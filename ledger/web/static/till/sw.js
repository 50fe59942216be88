/* The till's service worker: keeps the page itself available offline (the data lives in IndexedDB).
 * Network first for the till's own files, so a new version arrives at the next load online; the cached
 * copy when the network is gone. The API is never cached here: the page decides what to keep. */
"use strict";
const CACHE = "cunshe-till-v1";
const SHELL = [
  "/till/",
  "/till/static/till.js",
  "/till/static/till.css",
  "/till/static/icon.svg",
  "/till/static/icon-192.png",
  "/till/manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith("/till/") || url.pathname === "/till/sw.js") return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((c) => c.put(url.pathname === "/till/" ? "/till/" : event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(url.pathname === "/till/" ? "/till/" : event.request)),
  );
});
