// Report charts (Apache ECharts, served from /static/vendor): each chart reads its figures
// from a json_script block, so the page needs no inline script (the CSP forbids it).
// Tooltips render as rich text on the canvas: ECharts' HTML tooltips carry style attributes.
(() => {
  "use strict";

  function chartIn(chartId, dataId) {
    const element = document.getElementById(chartId);
    const source = document.getElementById(dataId);
    if (!element || !source || !window.echarts) return null;
    const chart = window.echarts.init(element, null, {
      locale: element.dataset.locale || "EN",
      renderer: "canvas",
    });
    window.addEventListener("resize", () => chart.resize());
    return { chart, element, data: JSON.parse(source.textContent) };
  }

  function funnel() {
    const found = chartIn("funnel-chart", "funnel-data");
    if (!found) return;
    const { chart, element, data } = found;
    chart.setOption({
      aria: { enabled: true },
      tooltip: { trigger: "item", renderMode: "richText", formatter: "{b}: {c}" },
      toolbox: {
        feature: {
          saveAsImage: { title: element.dataset.saveLabel, name: data.title, pixelRatio: 2 },
        },
      },
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
    });
    // A step opens the list of exactly the deals it counts (its "url").
    chart.on("click", (event) => {
      if (event.data && event.data.url) window.location.assign(event.data.url);
    });
  }

  // Bars per group (a bucket of time, a channel, a manager); a series with a "stack" is
  // stacked with the others of the same stack (classifications of leads, calls by
  // direction), one without stands alone (revenue per currency: never summed across them).
  function bars(chartId, dataId, valueAxis) {
    const found = chartIn(chartId, dataId);
    if (!found) return;
    const { chart, element, data } = found;
    chart.setOption({
      aria: { enabled: true },
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 8, bottom: 8, top: 40, containLabel: true },
      toolbox: {
        right: 0,
        top: 24,
        feature: { saveAsImage: { title: element.dataset.saveLabel, pixelRatio: 2 } },
      },
      xAxis: { type: "category", data: data.labels, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", ...valueAxis },
      series: data.series.map((series) => ({
        name: series.name,
        type: "bar",
        stack: series.stack || undefined,
        data: series.values,
      })),
    });
  }

  // Plan done per manager, in percent, with the 100 % line.
  function plans() {
    const found = chartIn("plans-chart", "plans-data");
    if (!found) return;
    const { chart, element, data } = found;
    chart.setOption({
      aria: { enabled: true },
      tooltip: { trigger: "axis", renderMode: "richText" },
      grid: { left: 8, right: 24, bottom: 8, top: 32, containLabel: true },
      toolbox: {
        right: 0,
        top: 0,
        feature: { saveAsImage: { title: element.dataset.saveLabel, pixelRatio: 2 } },
      },
      xAxis: {
        type: "value",
        max: (extent) => Math.max(100, Math.ceil(extent.max / 10) * 10),
        axisLabel: { formatter: "{value} %" },
      },
      yAxis: { type: "category", data: data.labels, inverse: true },
      series: data.series.map((series) => ({
        name: series.name,
        type: "bar",
        data: series.values,
        markLine: { symbol: "none", data: [{ xAxis: 100 }] },
      })),
    });
  }

  function start() {
    funnel();
    bars("sales-chart", "sales-data", {});
    bars("leads-chart", "leads-data", { minInterval: 1 });
    bars("activity-chart", "activity-data", { minInterval: 1 });
    plans();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
