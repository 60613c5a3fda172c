//! Charts for the dashboards, drawn on the server as SVG with `plotters`: no script, the
//! browser's own fonts. Each is an image labelled by its caption, and its page shows the
//! same numbers in a table beside it (the chart is for the eye, the table for everyone).

use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use plotters::prelude::*;
use ventanilla_domain::Lang;

/// Dark blue and dark orange: apart for every kind of colour vision, and 4.5:1 on white.
const FIRST: RGBColor = RGBColor(0x1f, 0x4e, 0x79);
const SECOND: RGBColor = RGBColor(0xa8, 0x4b, 0x00);
const FONT: &str = "sans-serif";

/// `n` as people read it: `12.345` in Spanish (CLDR es-EC), `12,345` in English.
pub fn count(n: i64, lang: Lang) -> String {
    thread_local! {
        static FORMATTERS: [Option<DecimalFormatter>; 2] = [
            DecimalFormatter::try_new(icu_locale_core::locale!("es-EC").into(), Default::default()).ok(),
            DecimalFormatter::try_new(icu_locale_core::locale!("en").into(), Default::default()).ok(),
        ];
    }
    FORMATTERS.with(|formatters| {
        let formatter = match lang {
            Lang::Es => &formatters[0],
            Lang::En => &formatters[1],
        };
        match formatter {
            Some(formatter) => formatter.format(&Decimal::from(n)).to_string(),
            None => n.to_string(),
        }
    })
}

/// `share` (0 to 1) as a whole percentage: `87 %` in Spanish, `87%` in English.
pub fn percent(share: f64, lang: Lang) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let whole = (share * 100.0).round() as i64;
    match lang {
        Lang::Es => format!("{} %", count(whole, lang)),
        Lang::En => format!("{}%", count(whole, lang)),
    }
}

/// A mean to one decimal, with the language's decimal mark ("4,3" in Ecuador).
pub fn average(mean: f64, lang: Lang) -> String {
    let text = format!("{mean:.1}");
    match lang {
        Lang::Es => text.replace('.', ","),
        Lang::En => text,
    }
}

/// The SVG with its role and its caption's id, its size left to the page.
fn labelled(svg: String, caption: &str) -> String {
    svg.replacen(
        "<svg ",
        &format!(r#"<svg role="img" aria-labelledby="{caption}" class="chart" "#),
        1,
    )
}

/// The highest value an axis runs to: at least 1, with room above the top.
fn axis_top(values: impl Iterator<Item = i64>) -> i64 {
    let top = values.max().unwrap_or(0).max(1);
    top + (top / 10).max(1)
}

/// Lines over labelled points (weeks), one per series (at most two: their colours),
/// labelled in a legend. `caption` is the id of the element that names the chart.
pub fn lines(caption: &str, points: &[String], series: &[(&str, Vec<i64>)], lang: Lang) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 300)).into_drawing_area();
        let drawn: Result<(), Box<dyn std::error::Error>> = (|| {
            root.fill(&WHITE)?;
            let top = axis_top(series.iter().flat_map(|(_, v)| v.iter().copied()));
            let last = points.len().saturating_sub(1).max(1);
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(0..last, 0..top)?;
            let label = |i: &usize| points.get(*i).cloned().unwrap_or_default();
            let number = |n: &i64| count(*n, lang);
            chart
                .configure_mesh()
                .x_labels(points.len().min(12))
                .x_label_formatter(&label)
                .y_label_formatter(&number)
                .label_style((FONT, 13))
                .light_line_style(RGBColor(0xee, 0xee, 0xee))
                .draw()?;
            for ((name, values), color) in series.iter().zip([FIRST, SECOND]) {
                chart
                    .draw_series(LineSeries::new(
                        values.iter().enumerate().map(|(i, v)| (i, *v)),
                        color.stroke_width(3),
                    ))?
                    .label(*name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK)
                .draw()?;
            root.present()?;
            Ok(())
        })();
        if let Err(error) = drawn {
            tracing::warn!(%error, "a chart could not be drawn");
        }
    }
    labelled(svg, caption)
}

/// Horizontal bars, one per labelled value, in the order given.
pub fn bars(caption: &str, values: &[(String, i64)], lang: Lang) -> String {
    let mut svg = String::new();
    {
        let height = 40 + 32 * u32::try_from(values.len().max(1)).unwrap_or(1);
        let root = SVGBackend::with_string(&mut svg, (720, height)).into_drawing_area();
        let drawn: Result<(), Box<dyn std::error::Error>> = (|| {
            root.fill(&WHITE)?;
            let top = axis_top(values.iter().map(|(_, v)| *v));
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .x_label_area_size(28)
                .y_label_area_size(260)
                .build_cartesian_2d(0..top, (0..values.len()).into_segmented())?;
            let label = |v: &SegmentValue<usize>| match v {
                SegmentValue::CenterOf(i) => {
                    values.get(*i).map(|(l, _)| l.clone()).unwrap_or_default()
                }
                _ => String::new(),
            };
            let number = |n: &i64| count(*n, lang);
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(values.len().max(1))
                .y_label_formatter(&label)
                .x_label_formatter(&number)
                .label_style((FONT, 13))
                .light_line_style(RGBColor(0xee, 0xee, 0xee))
                .draw()?;
            chart.draw_series(values.iter().enumerate().map(|(i, (_, v))| {
                let mut bar = Rectangle::new(
                    [
                        (0, SegmentValue::Exact(i)),
                        (*v, SegmentValue::Exact(i + 1)),
                    ],
                    FIRST.filled(),
                );
                bar.set_margin(5, 5, 0, 0);
                bar
            }))?;
            root.present()?;
            Ok(())
        })();
        if let Err(error) = drawn {
            tracing::warn!(%error, "a chart could not be drawn");
        }
    }
    labelled(svg, caption)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_in_ecuador() {
        assert_eq!(count(1_234_567, Lang::Es), "1.234.567");
        assert_eq!(count(12_345, Lang::En), "12,345");
        assert_eq!(percent(0.874, Lang::Es), "87 %");
    }

    #[test]
    fn charts_are_labelled_svg_with_their_labels() {
        let svg = bars(
            "c1",
            &[("Queja".into(), 12), ("Denuncia administrativa".into(), 3)],
            Lang::Es,
        );
        assert!(
            svg.starts_with(r#"<svg role="img" aria-labelledby="c1""#),
            "{svg}"
        );
        assert!(
            svg.contains("Denuncia administrativa") && svg.contains("<rect"),
            "{svg}"
        );
        // Labels are text: plotters escapes them.
        let svg = bars("c3", &[("<b>\"x\" & y</b>".into(), 1)], Lang::Es);
        assert!(!svg.contains("<b>") && svg.contains("&lt;b&gt;"), "{svg}");
        let svg = lines(
            "c2",
            &["6 ene".into(), "13 ene".into()],
            &[("Recibidos", vec![1200, 5]), ("Atendidos", vec![3, 4])],
            Lang::Es,
        );
        assert!(
            svg.contains("Recibidos") && svg.contains("1.200") && svg.contains("<polyline"),
            "{svg}"
        );
    }
}
