// Report charts (Apache ECharts, served from /static/vendor): each chart reads its figures
// from a json_script block, so the page needs no inline script (the CSP forbids it).
// Tooltips render as rich text on the canvas: ECharts' HTML tooltips carry style attributes.
(() => {
  "use strict";

  function funnel() {
    const element = document.getElementById("funnel-chart");
    const source = document.getElementById("funnel-data");
    if (!element || !source || !window.echarts) return;
    const data = JSON.parse(source.textContent);
    const chart = window.echarts.init(element, null, {
      locale: element.dataset.locale || "EN",
      renderer: "canvas",
    });
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
    window.addEventListener("resize", () => chart.resize());
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", funnel);
  else funnel();
})();
