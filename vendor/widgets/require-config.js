// RequireJS configuration for the widget bundle (written for this book, not vendored).
// Loaded before require.js. The widget bundle finds its fonts next to the URL of its
// AMD module "@jupyter-widgets/html-manager/dist/libembed-amd"; without this mapping
// that URL is relative to the page (chapters/@jupyter-widgets/...), where no font is.
// Mapping it to this _static folder makes the fonts load from the vendored copies.
var require = {
  paths: {
    "@jupyter-widgets/html-manager/dist": new URL(".", document.currentScript.src).href.replace(/\/$/, ""),
  },
};
