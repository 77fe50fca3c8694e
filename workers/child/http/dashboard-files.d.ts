/**
 * The dashboard's static files, imported `with { type: "file" }` (dashboard-assets.ts): each
 * import is the file's path, on disk or inside the one-file build.
 */
declare module "uplot/dist/uPlot.min.css" {
  const path: string;
  export default path;
}
declare module "uplot/dist/uPlot.iife.min.js" {
  const path: string;
  export default path;
}
