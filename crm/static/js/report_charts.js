// Report charts (Apache ECharts, served from /static/vendor). Every element with data-chart
// is drawn from the json_script block it names (data-source), so the page needs no inline
// script (the CSP forbids it):
//   data-chart="funnel"  the block's "steps";
//   data-chart="bars"    bars per label (data-labels, data-series: the block's keys,
//                        "labels" and "series" by default; data-whole: a count axis);
//   data-chart="plan"    plan done per manager, in percent, with the 100 % line.
// Buttons with data-chart-save="png|svg" and data-chart-id="<id>" download the chart as
// <data-file>.png or .svg: the PNG from the canvas, the SVG from an offscreen ECharts
// instance with the SVG renderer and the same option. Both go through a blob URL, which
// the CSP leaves alone (no inline script, no connect-src fetch of a data: URL).
// While the page prints (beforeprint, or print media emulated) each chart is redrawn at
// the A4 printable width and back afterwards: a canvas does not reflow by itself.
// Tooltips render as rich text on the canvas: ECharts' HTML tooltips carry style attributes.
(() => {
  "use strict";

  // A4 (210 mm) less the 12 mm margins of @page in crm.css, at 96 px per inch, less the
  // page's .5rem padding on each side in print.
  const PRINT_WIDTH = Math.floor(((210 - 2 * 12) / 25.4) * 96) - 16;
  const PRINT_HEIGHT = 300;
  // Narrow charts (a phone, half a page): smaller text, slanted labels that never overlap.
  const NARROW = 500;

  const drawn = new Map();
  // Figures grouped as the page's language writes them (1 234 567 in Russian).
  const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
  const figure = (value) => (typeof value === "number" ? numbers.format(value) : value);

  function commonOption() {
    return {
      aria: { enabled: true },
      backgroundColor: "#fff",
      textStyle: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" },
    };
  }

  function funnelOption(data) {
    return {
      baseOption: {
        ...commonOption(),
        tooltip: { trigger: "item", renderMode: "richText", formatter: "{b}: {c}" },
        series: [
          {
            type: "funnel",
            sort: "none",
            left: "5%",
            width: "90%",
            minSize: "8%",
            label: { show: true, position: "inside", formatter: "{b}: {c}" },
            data: data.steps,
          },
        ],
      },
      media: [
        {
          query: { maxWidth: NARROW },
          option: { series: [{ left: "2%", width: "96%", label: { fontSize: 11 } }] },
        },
      ],
    };
  }

  // Bars per group (a bucket of time, a channel, a manager); a series with a "stack" is
  // stacked with the others of the same stack (classifications of leads, calls by
  // direction), one without stands alone (revenue per currency: never summed across them).
  function barsOption(data, element) {
    const series = data[element.dataset.series || "series"] || [];
    return {
      baseOption: {
        ...commonOption(),
        tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: figure },
        legend: { type: "scroll", top: 0 },
        grid: { left: 8, right: 8, bottom: 8, top: 40, containLabel: true },
        xAxis: {
          type: "category",
          data: data[element.dataset.labels || "labels"] || [],
          axisLabel: { hideOverlap: true },
        },
        yAxis: {
          type: "value",
          axisLabel: { formatter: figure },
          ...("whole" in element.dataset ? { minInterval: 1 } : {}),
        },
        series: series.map((one) => ({
          name: one.name,
          type: "bar",
          stack: one.stack || undefined,
          data: one.values,
        })),
      },
      media: [
        {
          query: { maxWidth: NARROW },
          option: {
            legend: { textStyle: { fontSize: 11 }, itemWidth: 14, itemGap: 6 },
            grid: { top: 36, left: 16 },
            xAxis: { axisLabel: { fontSize: 10, rotate: 30 } },
            yAxis: { axisLabel: { fontSize: 10 } },
          },
        },
      ],
    };
  }

  function planOption(data) {
    return {
      baseOption: {
        ...commonOption(),
        tooltip: { trigger: "axis", renderMode: "richText" },
        grid: { left: 8, right: 24, bottom: 8, top: 16, containLabel: true },
        xAxis: {
          type: "value",
          max: (extent) => Math.max(100, Math.ceil(extent.max / 10) * 10),
          axisLabel: { formatter: "{value} %", hideOverlap: true },
        },
        yAxis: { type: "category", data: data.labels, inverse: true },
        series: data.series.map((series) => ({
          name: series.name,
          type: "bar",
          data: series.values,
          markLine: { symbol: "none", label: { show: false }, data: [{ xAxis: 100 }] },
        })),
      },
      media: [
        {
          query: { maxWidth: NARROW },
          option: {
            xAxis: { axisLabel: { fontSize: 10 } },
            grid: { left: 12 },
            yAxis: { axisLabel: { fontSize: 11 } },
          },
        },
      ],
    };
  }

  const OPTIONS = { funnel: funnelOption, bars: barsOption, plan: planOption };

  function draw(element) {
    const build = OPTIONS[element.dataset.chart];
    const source = document.getElementById(element.dataset.source);
    if (!build || !source || !window.echarts) return;
    const locale = element.dataset.locale || "EN";
    const chart = window.echarts.init(element, null, { locale, renderer: "canvas" });
    const option = build(JSON.parse(source.textContent), element);
    chart.setOption(option);
    // A data item with a "url" (a funnel step) opens the list of exactly the records it counts.
    chart.on("click", (event) => {
      if (event.data && event.data.url) window.location.assign(event.data.url);
    });
    drawn.set(element.id, { chart, element, option, locale });
  }

  function download(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  function pngBlob(chart) {
    const url = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
    const bytes = atob(url.slice(url.indexOf(",") + 1));
    const buffer = new Uint8Array(bytes.length);
    for (let index = 0; index < bytes.length; index += 1) buffer[index] = bytes.charCodeAt(index);
    return new Blob([buffer], { type: "image/png" });
  }

  function svgBlob({ chart, option, locale }) {
    const offscreen = window.echarts.init(null, null, {
      renderer: "svg",
      ssr: true,
      locale,
      width: chart.getWidth(),
      height: chart.getHeight(),
    });
    try {
      offscreen.setOption(option);
      return new Blob([offscreen.renderToSVGString()], { type: "image/svg+xml;charset=utf-8" });
    } finally {
      offscreen.dispose();
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-chart-save]");
    const found = button && drawn.get(button.dataset.chartId);
    if (!found) return;
    const kind = button.dataset.chartSave;
    const blob = kind === "svg" ? svgBlob(found) : pngBlob(found.chart);
    download(blob, `${found.element.dataset.file || found.element.id}.${kind}`);
  });

  let printing = false;

  function toPrint() {
    if (printing) return;
    printing = true;
    drawn.forEach(({ chart }) => {
      chart.resize({ width: PRINT_WIDTH, height: PRINT_HEIGHT, animation: { duration: 0 } });
      // Draw now: the page is printed before the next animation frame.
      chart.getZr().flush();
    });
  }

  function toScreen() {
    if (!printing) return;
    printing = false;
    drawn.forEach(({ chart }) => chart.resize({ width: "auto", height: "auto" }));
  }

  window.addEventListener("beforeprint", toPrint);
  window.addEventListener("afterprint", toScreen);
  window.matchMedia("print").addEventListener("change", (event) => {
    if (event.matches) toPrint();
    else toScreen();
  });
  window.addEventListener("resize", () => {
    if (!printing) drawn.forEach(({ chart }) => chart.resize());
  });

  function start() {
    document.querySelectorAll("[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
