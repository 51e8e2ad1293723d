// The forecast's charts (Apache ECharts, loaded by the report base page): the two weighted
// forecasts per month of the period, and the past months' forecasts against what was won.
// Figures come from the json_script block "forecast-data" (no inline script under the CSP);
// one series per figure and currency, never summed across currencies.
(() => {
  "use strict";

  function bars(element, labels, series) {
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
      xAxis: { type: "category", data: labels },
      yAxis: { type: "value" },
      series: series.map((one) => ({ name: one.name, type: "bar", data: one.values })),
    });
  }

  function start() {
    const element = document.getElementById("forecast-chart");
    const source = document.getElementById("forecast-data");
    if (!element || !source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    bars(element, data.labels, data.series);
    const past = document.getElementById("forecast-past-chart");
    if (past) bars(past, data.past_labels, data.past_series);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
