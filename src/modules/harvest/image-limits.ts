// How many images a page and a task give at most: no real page needs more, a hostile one might.
// Apart from the parsers (page-parsers.ts), so that the harvester can know them before loading those.

/** A page listing more images than this is cut there. */
export const MAX_IMAGES_PER_PAGE = 5_000;
/** A crawl collects at most this many distinct images, whatever its pages list. */
export const MAX_IMAGES_PER_TASK = 4 * MAX_IMAGES_PER_PAGE;
