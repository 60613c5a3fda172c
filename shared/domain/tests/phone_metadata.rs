//! An Ecuadorian phone is checked without building the `phonenumber` crate's database of
//! every country (about 100 ms of CPU, most of create-ticket's first answer after a cold
//! start, docs/PERFORMANCE.md); a foreign one builds it. A test binary of its own, so that no
//! other test has built that database first.

use once_cell::sync::Lazy;
use phonenumber::metadata::DATABASE;
use ventanilla_domain::Phone;

#[test]
fn an_ecuadorian_phone_leaves_every_countrys_metadata_unbuilt() {
    for (typed, e164) in [
        ("0991234567", "+593991234567"),
        ("099 123 4567", "+593991234567"),
        ("+593 99 123 4567", "+593991234567"),
        ("(02) 2345 678", "+59322345678"),
        ("1800 123 456", "+5931800123456"),
    ] {
        assert_eq!(Phone::parse(typed).unwrap().as_str(), e164, "{typed}");
    }
    assert!(
        Lazy::get(&DATABASE).is_none(),
        "an Ecuadorian number built every country's metadata"
    );

    assert_eq!(
        Phone::parse("+34 912 345 678").unwrap().as_str(),
        "+34912345678"
    );
    assert!(Lazy::get(&DATABASE).is_some());
}
// A number Ecuador's metadata refuses (a typo, or a foreign number) is asked of every
// country's, so a refused form pays for that database too: a citizen who typed well does not.
