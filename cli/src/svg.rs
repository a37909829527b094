//! SVG heatmaps of an affinity matrix reordered by a partition (the paper's Fig. 2), with group
//! boundaries, a colour scale and a legend. Plain SVG 1.1: opens in any browser.

use std::fmt::Write;

/// Viridis colour map stops (0 → 1).
const STOPS: [(f64, [u8; 3]); 6] = [
    (0.0, [68, 1, 84]),
    (0.2, [65, 68, 135]),
    (0.4, [42, 120, 142]),
    (0.6, [34, 168, 132]),
    (0.8, [122, 209, 81]),
    (1.0, [253, 231, 37]),
];

/// The colour of t ∈ [0, 1] as `#rrggbb`.
fn colour(t: f64) -> String {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut i = 0;
    while i + 2 < STOPS.len() && t > STOPS[i + 1].0 {
        i += 1;
    }
    let (t0, c0) = STOPS[i];
    let (t1, c1) = STOPS[i + 1];
    let f = if t1 > t0 { (t - t0) / (t1 - t0) } else { 0.0 };
    let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(c0[0], c1[0]),
        mix(c0[1], c1[1]),
        mix(c0[2], c1[2])
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A heatmap of the n×n row-major `values`, rows and columns ordered group by group (groups in
/// the given order, tasks ascending within a group), white lines between groups.
pub fn heatmap(
    values: &[f64],
    n: usize,
    groups: &[Vec<usize>],
    title: &str,
    subtitle: &str,
) -> String {
    let order: Vec<usize> = groups.iter().flatten().copied().collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let size = 600.0_f64;
    let cell = size / n.max(1) as f64;
    let (left, top) = (40.0, 70.0);
    let width = left + size + 130.0;
    let height = top + size + 40.0;
    let mut s = svg_start(width, height);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="28" font-size="18">{}</text>"#,
        esc(title)
    );
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="52" font-size="13" fill="dimgray">{}</text>"#,
        esc(subtitle)
    );
    let _ = writeln!(s, r#"<g shape-rendering="crispEdges">"#);
    for (r, &u) in order.iter().enumerate() {
        for (c, &v) in order.iter().enumerate() {
            let x = values[u * n + v];
            let _ = writeln!(
                s,
                r#"<rect x="{:.3}" y="{:.3}" width="{:.3}" height="{:.3}" fill="{}"/>"#,
                left + c as f64 * cell,
                top + r as f64 * cell,
                cell + 0.05,
                cell + 0.05,
                colour((x - lo) / span)
            );
        }
    }
    let _ = writeln!(s, "</g>");
    // Group boundaries.
    let mut pos = 0usize;
    for g in groups.iter().take(groups.len().saturating_sub(1)) {
        pos += g.len();
        let p = pos as f64 * cell;
        let _ = writeln!(
            s,
            r#"<line x1="{left}" y1="{:.3}" x2="{:.3}" y2="{:.3}" stroke="white" stroke-width="2"/>"#,
            top + p,
            left + size,
            top + p
        );
        let _ = writeln!(
            s,
            r#"<line x1="{:.3}" y1="{top}" x2="{:.3}" y2="{:.3}" stroke="white" stroke-width="2"/>"#,
            left + p,
            left + p,
            top + size
        );
    }
    let _ = writeln!(
        s,
        r#"<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="black" stroke-width="1"/>"#
    );
    // Colour scale legend.
    let lx = left + size + 30.0;
    let _ = writeln!(
        s,
        r#"<defs><linearGradient id="scale" x1="0" y1="1" x2="0" y2="0">"#
    );
    for (t, _) in STOPS {
        let _ = writeln!(s, r#"<stop offset="{t}" stop-color="{}"/>"#, colour(t));
    }
    let _ = writeln!(s, "</linearGradient></defs>");
    let _ = writeln!(
        s,
        r#"<rect x="{lx}" y="{top}" width="20" height="{size}" fill="url(#scale)" stroke="black" stroke-width="0.5"/>"#
    );
    for (frac, val) in [(0.0, hi), (0.5, lo + 0.5 * (hi - lo)), (1.0, lo)] {
        let y = top + frac * size;
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{:.1}" font-size="12">{}</text>"#,
            lx + 26.0,
            y + 4.0,
            fmt_num(val)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="{}" font-size="12" fill="dimgray">affinity T (rows and columns reordered by group; white lines: group boundaries)</text>"#,
        top + size + 25.0 - 0.0
    );
    let _ = writeln!(s, "</svg>");
    s
}

/// The opening of an SVG document `width`×`height` px on a white background.
fn svg_start(width: f64, height: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    s
}

/// The (width, height) of an SVG document from [`svg_start`] (0 for an attribute not found).
fn svg_size(doc: &str) -> (f64, f64) {
    let attr = |name: &str| -> f64 {
        doc.split_once(&format!(" {name}=\""))
            .and_then(|(_, rest)| rest.split_once('"'))
            .and_then(|(v, _)| v.parse().ok())
            .unwrap_or(0.0)
    };
    (attr("width"), attr("height"))
}

/// `heatmap` (an SVG document from [`heatmap`] of n tasks) with the task names of its rows, in
/// the heatmap's order, written to its left. Names are left out above 150 tasks (unreadable).
pub fn with_row_labels(heatmap: &str, labels: &[String]) -> String {
    let n = labels.len();
    if n == 0 || n > 150 {
        return heatmap.to_string();
    }
    let (hw, hh) = svg_size(heatmap);
    // The heatmap's geometry (see `heatmap`): 600 px square from (40, 70).
    let cell = 600.0 / n as f64;
    let font = (cell * 0.8).clamp(4.0, 12.0);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64;
    let lw = (longest * font * 0.6 + 10.0).clamp(20.0, 260.0);
    let mut s = svg_start(hw + lw, hh);
    // The heatmap first (its white background), the names on top of its left margin.
    s.push_str(&heatmap.replacen(
        " xmlns=\"http://www.w3.org/2000/svg\"",
        &format!(" x=\"{lw}\" y=\"0\""),
        1,
    ));
    for (r, label) in labels.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{:.2}" font-size="{font:.1}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
            lw + 36.0,
            70.0 + (r as f64 + 0.5) * cell,
            esc(label)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// One k of a `--k-range` search, for [`with_k_curve`].
pub struct KPoint {
    /// Number of groups.
    pub k: usize,
    /// Σ densities of the partition found.
    pub value: f64,
    /// value / number of groups.
    pub average_density: f64,
    /// The certified upper bound on every k-partition's value, when there is one.
    pub upper_bound: Option<f64>,
}

/// `heatmap` (an SVG document from [`heatmap`]) with a chart of the k search below it: the value
/// of each k (with its upper bound) and the average density, the chosen k marked.
pub fn with_k_curve(heatmap: &str, points: &[KPoint], chosen: usize) -> String {
    let (hw, hh) = svg_size(heatmap);
    let (cw, ch) = (hw.max(770.0), 300.0);
    let (left, top, pw, ph) = (70.0, 40.0, cw - 200.0, ch - 90.0);
    let (kmin, kmax) = (
        points.first().map_or(1, |p| p.k) as f64,
        points.last().map_or(1, |p| p.k) as f64,
    );
    let kspan = if kmax > kmin { kmax - kmin } else { 1.0 };
    let x = |k: usize| left + (k as f64 - kmin) / kspan * pw;
    // Two series on their own vertical scales: value (+ bound) left, average density right.
    let scale = |vals: &mut dyn Iterator<Item = f64>| {
        let (lo, hi) = vals
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if lo.is_finite() && hi > lo {
            (lo, hi)
        } else if lo.is_finite() {
            (lo - 1.0, lo + 1.0)
        } else {
            (0.0, 1.0)
        }
    };
    let (vlo, vhi) = scale(
        &mut points
            .iter()
            .flat_map(|p| [Some(p.value), p.upper_bound])
            .flatten(),
    );
    let (dlo, dhi) = scale(&mut points.iter().map(|p| p.average_density));
    let yv = |v: f64| top + ph - (v - vlo) / (vhi - vlo) * ph;
    let yd = |v: f64| top + ph - (v - dlo) / (dhi - dlo) * ph;
    let poly = |pts: Vec<(f64, f64)>| {
        pts.iter()
            .map(|(a, b)| format!("{a:.2},{b:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut c = String::new();
    let _ = writeln!(
        c,
        r#"<svg x="0" y="{hh}" width="{cw}" height="{ch}" viewBox="0 0 {cw} {ch}">"#
    );
    let _ = writeln!(
        c,
        r#"<text x="{left}" y="22" font-size="15">k search: value of the partition found (blue, bound dashed) and average density (orange)</text>"#
    );
    let _ = writeln!(
        c,
        r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black" stroke-width="0.5"/>"#
    );
    let xc = x(chosen);
    let _ = writeln!(
        c,
        r#"<line x1="{xc:.2}" y1="{top}" x2="{xc:.2}" y2="{:.2}" stroke="gray" stroke-dasharray="3,3"/>"#,
        top + ph
    );
    let bound: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| p.upper_bound.map(|b| (x(p.k), yv(b))))
        .collect();
    if bound.len() > 1 {
        let _ = writeln!(
            c,
            r##"<polyline points="{}" fill="none" stroke="#1f77b4" stroke-dasharray="5,3"/>"##,
            poly(bound)
        );
    }
    for (series, colour, y) in [
        (
            points.iter().map(|p| (p.k, p.value)).collect::<Vec<_>>(),
            "#1f77b4",
            &yv as &dyn Fn(f64) -> f64,
        ),
        (
            points.iter().map(|p| (p.k, p.average_density)).collect(),
            "#ff7f0e",
            &yd,
        ),
    ] {
        let pts: Vec<(f64, f64)> = series.iter().map(|&(k, v)| (x(k), y(v))).collect();
        let _ = writeln!(
            c,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            poly(pts.clone())
        );
        for (a, b) in pts {
            let _ = writeln!(
                c,
                r#"<circle cx="{a:.2}" cy="{b:.2}" r="3" fill="{colour}"/>"#
            );
        }
    }
    for p in points {
        let _ = writeln!(
            c,
            r#"<text x="{:.2}" y="{:.2}" font-size="11" text-anchor="middle">{}</text>"#,
            x(p.k),
            top + ph + 16.0,
            p.k
        );
    }
    for (v, y, anchor, xpos) in [
        (vhi, top, "end", left - 6.0),
        (vlo, top + ph, "end", left - 6.0),
        (dhi, top, "start", left + pw + 6.0),
        (dlo, top + ph, "start", left + pw + 6.0),
    ] {
        let _ = writeln!(
            c,
            r#"<text x="{xpos:.2}" y="{:.2}" font-size="11" text-anchor="{anchor}">{}</text>"#,
            y + 4.0,
            fmt_num(v)
        );
    }
    let _ = writeln!(
        c,
        r#"<text x="{:.2}" y="{:.2}" font-size="12" text-anchor="middle">k (chosen: {chosen})</text>"#,
        left + pw / 2.0,
        top + ph + 36.0
    );
    let _ = writeln!(c, "</svg>");
    // The heatmap as an inner document, the chart below it, in one outer SVG.
    let (w, h) = (cw, hh + ch);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}{c}</svg>\n",
        heatmap.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", " x=\"0\" y=\"0\"", 1)
    )
}

fn fmt_num(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e4 || x.abs() < 1e-2) {
        format!("{x:.2e}")
    } else {
        format!("{x:.3}")
    }
}

/// A line plot of y ∈ [0, 1] against x (drawn on a log scale when `log_x`), one polyline and
/// legend entry per series. Plain SVG 1.1.
pub fn line_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    log_x: bool,
) -> String {
    const COLOURS: [&str; 6] = [
        "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
    ];
    let (w, h, l, r, t, b) = (640.0, 400.0, 70.0, 170.0, 50.0, 60.0);
    let tx = |x: f64| if log_x { x.max(1e-9).ln() } else { x };
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| tx(p.0)))
        .collect();
    let (x0, x1) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let (x0, x1) = if x0.is_finite() && x1 > x0 {
        (x0, x1)
    } else {
        (0.0, 1.0)
    };
    let px = |x: f64| l + (tx(x) - x0) / (x1 - x0) * (w - l - r);
    let py = |y: f64| t + (1.0 - y.clamp(0.0, 1.0)) * (h - t - b);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
        (w - r + l) / 2.0,
        esc(title)
    );
    for i in 0..=4 {
        let y = i as f64 / 4.0;
        let _ = writeln!(
            s,
            r##"<line x1="{l}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{y:.2}</text>"##,
            w - r,
            py(y),
            py(y),
            l - 6.0,
            py(y) + 4.0
        );
    }
    let mut ticks: Vec<f64> = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.0))
        .collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    for x in ticks {
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{x}</text>"#,
            px(x),
            h - b + 18.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (w - r + l) / 2.0,
        h - 14.0,
        esc(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">{}</text>"#,
        (h - b + t) / 2.0,
        (h - b + t) / 2.0,
        esc(y_label)
    );
    let _ = writeln!(
        s,
        r##"<rect x="{l}" y="{t}" width="{}" height="{}" fill="none" stroke="#333"/>"##,
        w - l - r,
        h - t - b
    );
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = pts
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for &(x, y) in pts {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{c}"/>"#,
                px(x),
                py(y)
            );
        }
        let ly = t + 10.0 + 20.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{c}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            w - r + 12.0,
            w - r + 32.0,
            w - r + 38.0,
            ly + 4.0,
            esc(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_is_well_formed() {
        let v = [1.0, 0.0, 0.0, 1.0];
        let s = heatmap(&v, 2, &[vec![0], vec![1]], "t<1>", "sub");
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert!(s.contains("t&lt;1&gt;"));
        assert_eq!(s.matches("<rect x=").count(), 4 + 2);
        assert_eq!(colour(0.0), "#440154");
        assert_eq!(colour(1.0), "#fde725");
    }

    #[test]
    fn k_curve_nests_the_heatmap_and_marks_the_chosen_k() {
        let v = [1.0, 0.0, 0.0, 1.0];
        let h = heatmap(&v, 2, &[vec![0], vec![1]], "t", "s");
        let pts: Vec<KPoint> = (1..=2)
            .map(|k| KPoint {
                k,
                value: k as f64,
                average_density: 1.0,
                upper_bound: Some(k as f64 + 0.5),
            })
            .collect();
        let s = with_k_curve(&h, &pts, 2);
        assert_eq!(s.matches("<svg").count(), 3);
        assert_eq!(s.matches("</svg>").count(), 3);
        assert_eq!(s.matches("xmlns=").count(), 1);
        assert!(s.contains("k (chosen: 2)"));
        let l = with_row_labels(&h, &["a<b".into(), "c".into()]);
        assert!(l.contains(">a&lt;b</text>") && l.contains(">c</text>"));
        assert_eq!(l.matches("xmlns=").count(), 1);
        let both = with_k_curve(&l, &pts, 1);
        assert_eq!(both.matches("xmlns=").count(), 1);
        assert_eq!(both.matches("<svg").count(), 4);
        assert!(!s.contains("NaN") && !s.contains("inf"));
    }
}
