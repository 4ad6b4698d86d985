// Loaded before every test file (node --import ./tests/js/setup.mjs --test ...; run.sh
// does it).
//
// 1. The dashboard's modules import each other by absolute URL ('/format.js'), as the
//    browser resolves them against the page's origin. Rather than make the modules import
//    differently for node's sake, a module-resolution hook (web-paths.mjs) maps such a
//    specifier to web/<name>.js and has node load every web/*.js as an ES module (web/ has
//    no package.json saying so). The tests themselves import web/ by relative path.
// 2. Times are shown in local time and words: a fixed time zone with a DST change
//    (Europe/Berlin: 31 March 2024 has 23 hours, 27 October 2024 has 25) and a fixed
//    locale (en-GB: 24-hour clock), so the expected texts are exact.

import { register } from 'node:module';

register('./web-paths.mjs', import.meta.url);

process.env.TZ = 'Europe/Berlin';
const locale = new Intl.DateTimeFormat().resolvedOptions().locale;
if (locale !== 'en-GB') {
  throw new Error(`the tests expect the en-GB locale, not ${locale}: run tests/js/run.sh`);
}
