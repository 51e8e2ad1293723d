// Bar charts of the forecast and clients reports (Apache ECharts, loaded by the report
// base page). Each element with data-bar-chart names the json_script block it reads
// (data-source) and which of its keys hold the labels and the series (data-labels,
// data-series), so the page needs no inline script under the CSP. One series per figure
// and currency: amounts are never summed across currencies.
(() => {
  "use strict";

  function draw(element) {
    const source = document.getElementById(element.dataset.source);
    if (!source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const chart = window.echarts.init(element, null, {
      locale: element.dataset.locale || "EN",
      renderer: "canvas",
    });
    window.addEventListener("resize", () => chart.resize());
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
      xAxis: { type: "category", data: data[element.dataset.labels] },
      yAxis: { type: "value" },
      series: data[element.dataset.series].map((one) => ({
        name: one.name,
        type: "bar",
        data: one.values,
      })),
    });
  }

  function start() {
    document.querySelectorAll("[data-bar-chart]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
