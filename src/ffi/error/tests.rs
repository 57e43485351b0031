use super::*;

#[test]
fn every_code_maps_to_the_status_of_the_same_number_and_name() {
    for code in Code::all() {
        let status = vs_status::from(code);
        assert_eq!(status as i32, code as i32);
        // SAFETY: vs_status_name returns a pointer to a static NUL-terminated string.
        let name = unsafe { std::ffi::CStr::from_ptr(vs_status_name(status as i32)) };
        assert_eq!(name, code.c_name());
        assert_eq!(format!("{status:?}"), code.c_name().to_str().unwrap());
    }
    assert_eq!(Code::from_number(0), None);
    assert_eq!(Code::from_number(13), None);
}
