/** dashboard-charts.js runs in the browser; the fleet imports it only as a file: its path. */
declare const path: string;
export default path;
