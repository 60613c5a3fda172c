//! The country names the form offers, in Spanish and English, from CLDR (through ICU4X), and
//! their order in each language (Ecuador first, then as a Spanish or English reader sorts:
//! accents ignored, Ñ after N): computed here once, so that no function pays for ICU's data
//! or a sort at run time.

use std::cmp::Ordering;
use std::fmt::Write as _;

use icu_collator::options::CollatorOptions;
use icu_collator::{Collator, CollatorBorrowed};
use icu_experimental::displaynames::DisplayNamesOptions;
use icu_experimental::displaynames::multi::RegionDisplayNames;
use icu_locale_core::locale;
use icu_locale_core::subtags::Region;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let names = |locale: icu_locale_core::Locale| {
        RegionDisplayNames::try_new(locale.into(), DisplayNamesOptions::default())
            .expect("CLDR's region names are compiled into icu_experimental")
    };
    let (spanish, english) = (names(locale!("es")), names(locale!("en")));
    let collator = |locale: icu_locale_core::Locale| -> CollatorBorrowed<'static> {
        Collator::try_new(locale.into(), CollatorOptions::default())
            .expect("CLDR's collation is compiled into icu_collator")
    };
    let (by_spanish, by_english) = (collator(locale!("es")), collator(locale!("en")));

    let mut countries: Vec<(&str, String, String)> = isocountry::CountryCode::iter()
        .map(|code| {
            let alpha2 = code.alpha2();
            let region = Region::try_from_str(alpha2).expect("ISO 3166 codes are regions");
            // CLDR names every ISO 3166-1 country; the standard's English name otherwise.
            let es = spanish.of(region).unwrap_or(code.name()).to_owned();
            let en = english.of(region).unwrap_or(code.name()).to_owned();
            (alpha2, es, en)
        })
        .collect();
    countries.sort_by(|a, b| a.0.cmp(b.0));

    let order = |collator: &CollatorBorrowed<'static>, spanish: bool| {
        let name = |index: usize| {
            let (_, es, en) = &countries[index];
            if spanish { es.as_str() } else { en.as_str() }
        };
        let mut indexes: Vec<usize> = (0..countries.len()).collect();
        indexes.sort_by(
            |&a, &b| match (countries[a].0 == "EC", countries[b].0 == "EC") {
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => collator.compare(name(a), name(b)),
            },
        );
        indexes
    };
    let spanish_order = order(&by_spanish, true);
    let english_order = order(&by_english, false);

    let mut out = String::from(
        "/// Every nationality as (ISO 3166-1 alpha-2, Spanish name, English name), by code.\n\
         pub(crate) const COUNTRY_NAMES: &[(&str, &str, &str)] = &[\n",
    );
    for (code, es, en) in &countries {
        writeln!(out, "    ({code:?}, {es:?}, {en:?}),")
            .expect("writing to a String does not fail");
    }
    out.push_str("];\n");
    for (name, indexes) in [
        ("SPANISH_ORDER", &spanish_order),
        ("ENGLISH_ORDER", &english_order),
    ] {
        writeln!(out,
            "/// Indexes of `COUNTRY_NAMES` in the form's order.\npub(crate) const {name}: &[u16] = &{indexes:?};"
        )
        .expect("writing to a String does not fail");
    }
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("countries.rs");
    std::fs::write(path, out).expect("OUT_DIR is writable");
}
