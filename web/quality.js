// Which stream a tile asks for (pure): the camera's light stream for a grid of cameras on a
// phone or when the browser asks to save data, otherwise auto (the main stream, unless the
// link is weak: the server then moves the viewer to the light one and back, at a keyframe).

export const QUALITIES = ['high', 'low', 'auto'];

/**
 * @param {object} view
 * @param {boolean} view.full       the tile is the full view
 * @param {boolean} view.narrow     a phone-sized screen
 * @param {number} view.tiles       cameras in the grid
 * @param {boolean} [view.saveData] navigator.connection.saveData
 * @returns {'low'|'auto'}
 */
export function qualityFor({ full, narrow, tiles, saveData = false }) {
  if (full) return 'auto';
  if (saveData) return 'low';
  return narrow && tiles > 1 ? 'low' : 'auto';
}

/** The WHEP URL with its quality. */
export function whepUrlWith(url, quality) {
  if (!QUALITIES.includes(quality)) return url;
  const [path, query = ''] = url.split('?');
  const params = new URLSearchParams(query);
  params.set('quality', quality);
  return `${path}?${params}`;
}
