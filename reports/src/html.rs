//! `report.html`: the report as one self-contained page for a browser, written by `run`,
//! `compare`, `sweep` and `merge` with `--out DIR` next to the other files.
//!
//! Self-contained means it works from a laptop with no network and cannot leak one: the CSS
//! is inline, the plots are the same SVG as the `.svg` files inlined, there is no script, no
//! font, no image and no link outside the page, and a Content-Security-Policy of
//! `default-src 'none'` (inline styles only) makes the browser refuse anything else, should a
//! later change add it. Every string that comes from a scenario (names, the description,
//! the `why` of an expectation, `--set` values) is HTML-escaped, so a scenario holding
//! `<script>` shows it as text.
//!
//! The page is built from the same data as the text and Markdown reports (the [`Report`],
//! the [`Comparison`], the [`Sweep`] and the table definitions in `tables.rs`), never by
//! parsing text, and contains nothing that varies between runs (no date, no path), so the same
//! report gives the same bytes.
//!
//! [`Report`]: crate::Report
//! [`Comparison`]: crate::compare::Comparison
//! [`Sweep`]: crate::sweep::Sweep

mod many;
mod run;

pub use many::{compare_html, sweep_html};
pub use run::run_html;

use crate::tables::Table;

/// The page's file name in every `--out DIR`.
pub const FILE: &str = "report.html";

/// Plain, readable, printable; numbers right-aligned in tabular figures, text left-aligned.
const CSS: &str = "\
body{margin:0;color:#1d1d1f;background:#fff;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",\
Roboto,\"DejaVu Sans\",sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:32px 0 8px;padding-bottom:3px;border-bottom:1px solid #d8d8d8}
h3{font-size:16px;margin:16px 0 4px}
p{margin:8px 0;max-width:80ch}
.description{font-size:16px;color:#333}
.run{font:13px/1.4 ui-monospace,\"DejaVu Sans Mono\",monospace;color:#555;overflow-wrap:anywhere}
.verdict{font-size:17px;max-width:none;background:#eef4fa;border-left:5px solid #0072b2;\
padding:12px 16px}
.warning{max-width:none;background:#fff4dc;border-left:5px solid #e69f00;padding:8px 16px}
nav{font-size:14px;color:#555}
nav a{color:#0060a0;margin-right:12px;white-space:nowrap}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:14px;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid #e4e4e4;text-align:right;vertical-align:top;\
white-space:nowrap}
th{background:#f2f2f2;font-weight:600;border-bottom:1px solid #c8c8c8;white-space:normal;\
vertical-align:bottom}
tbody tr:nth-child(even){background:#fafafa}
th.l,td.l{text-align:left}
td.wrap{white-space:normal;min-width:16ch}
td.pass{color:#00734d;font-weight:600}
td.fail{color:#b3001b;font-weight:700}
figure{margin:16px 0 28px}
figure svg{display:block;width:100%;max-width:800px;height:auto;border:1px solid #e4e4e4}
.none{color:#777;font-style:italic}
@media print{nav{display:none}main{max-width:none}}
";

/// `text` with the five characters that HTML gives a meaning escaped: safe as element text
/// and inside a double- or single-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page being written: the head (charset, policy, title, CSS) is written by [`Page::new`],
/// sections are appended in order, [`Page::finish`] closes it.
pub(crate) struct Page {
    out: String,
}

impl Page {
    /// Starts a page titled `title` (escaped here).
    pub fn new(title: &str) -> Page {
        let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n");
        out.push_str("<meta charset=\"utf-8\">\n");
        // Nothing outside the page may load, whatever a later change puts in it.
        out.push_str(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'\">\n",
        );
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        out.push_str(&format!("<title>{}</title>\n", escape(title)));
        out.push_str(&format!("<style>\n{CSS}</style>\n"));
        out.push_str("</head>\n<body>\n<main>\n");
        Page { out }
    }

    /// The page's heading (escaped).
    pub fn h1(&mut self, text: &str) {
        self.out.push_str(&format!("<h1>{}</h1>\n", escape(text)));
    }

    /// A section heading (escaped) with an anchor `id` for the contents line.
    pub fn h2(&mut self, id: &str, text: &str) {
        self.out
            .push_str(&format!("<h2 id=\"{id}\">{}</h2>\n", escape(text)));
    }

    /// A sub-heading (escaped).
    pub fn h3(&mut self, text: &str) {
        self.out.push_str(&format!("<h3>{}</h3>\n", escape(text)));
    }

    /// A paragraph of `text` (escaped), with a CSS class when `class` is not empty.
    pub fn p(&mut self, class: &str, text: &str) {
        if class.is_empty() {
            self.out.push_str(&format!("<p>{}</p>\n", escape(text)));
        } else {
            self.out
                .push_str(&format!("<p class=\"{class}\">{}</p>\n", escape(text)));
        }
    }

    /// A line of in-page links: `(anchor id, label)` pairs.
    pub fn contents(&mut self, links: &[(&str, &str)]) {
        if links.is_empty() {
            return;
        }
        self.out.push_str("<nav>Contents: ");
        for (id, label) in links {
            self.out
                .push_str(&format!("<a href=\"#{id}\">{}</a>", escape(label)));
        }
        self.out.push_str("</nav>\n");
    }

    /// A titled table from the definitions the text report prints.
    pub fn table(&mut self, id: &str, t: &Table) {
        self.h2(id, t.title);
        self.rows(t.header, t.left, &t.rows, &[]);
    }

    /// A table (or "none"): the first column and those in `left` are text, left-aligned;
    /// those in `wrap` (text that can be long) may wrap; the others are numbers.
    pub fn rows<S: AsRef<str>>(
        &mut self,
        header: &[S],
        left: &[usize],
        rows: &[Vec<String>],
        wrap: &[usize],
    ) {
        if rows.is_empty() {
            self.out.push_str("<p class=\"none\">none</p>\n");
            return;
        }
        let class = |i: usize| {
            if wrap.contains(&i) {
                " class=\"l wrap\""
            } else if i == 0 || left.contains(&i) {
                " class=\"l\""
            } else {
                ""
            }
        };
        self.out
            .push_str("<div class=\"scroll\"><table>\n<thead><tr>");
        for (i, h) in header.iter().enumerate() {
            let cell = if i == 0 || left.contains(&i) || wrap.contains(&i) {
                " class=\"l\""
            } else {
                ""
            };
            self.out
                .push_str(&format!("<th{cell}>{}</th>", escape(h.as_ref())));
        }
        self.out.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            self.out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                self.out
                    .push_str(&format!("<td{}>{}</td>", class(i), escape(cell)));
            }
            self.out.push_str("</tr>\n");
        }
        self.out.push_str("</tbody>\n</table></div>\n");
    }

    /// Raw markup the caller built from escaped parts.
    fn raw(&mut self, html: &str) {
        self.out.push_str(html);
    }

    /// A plot: the SVG inline (it draws its own title), labelled for screen readers.
    pub fn figure(&mut self, title: &str, svg: &str) {
        let title = escape(title);
        let labelled = svg.replacen(
            "<svg ",
            &format!("<svg role=\"img\" aria-label=\"{title}\" "),
            1,
        );
        self.out
            .push_str(&format!("<figure>\n{}\n</figure>\n", labelled.trim_end()));
    }

    /// Closes the page and gives its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.push_str("</main>\n</body>\n</html>\n");
        self.out.into_bytes()
    }
}
