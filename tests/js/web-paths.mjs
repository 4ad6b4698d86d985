// Module-resolution hooks for the unit tests (registered by setup.mjs): '/x.js' is web/x.js,
// and web/*.js are ES modules.

const WEB = new URL('../../web/', import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const absolute = /^\/([A-Za-z0-9_-]+\.js)$/.exec(specifier);
  const result = await nextResolve(absolute ? new URL(absolute[1], WEB).href : specifier, context);
  if (result.url.startsWith(WEB.href) && result.url.endsWith('.js')) {
    return { ...result, format: 'module' };
  }
  return result;
}
