//! (tests being written)

#[test]
fn hostile_explore() {
    use tree_sitter::Parser;
    let mut p = Parser::new();
    p.set_language(&tree_sitter_powershell::LANGUAGE.into()).unwrap();
    let src = "$Lab = @{\n    Name = 'a''b\u{2019}c'\n    T = @([pscustomobject]@{ U = 'x' })\n}\n";
    let t = p.parse(src, None).unwrap();
    println!("{}", t.root_node().to_sexp());
    let mut p = Parser::new();
    p.set_language(&tree_sitter_bicep::LANGUAGE.into()).unwrap();
    let src = "metadata description = 'a\\'b\\${x}'\nvar tags = {\n  'k\\$': 'v'\n}\noutput o string = 'a${tags}b'\n";
    let t = p.parse(src, None).unwrap();
    println!("{}", t.root_node().to_sexp());
    let src = "locals {\n  tags = merge({ \"k$${x}\" = \"v%%{y}\" }, {})\n  a = \"x${local.tags}\"\n}\n";
    let body = hcl::edit::parser::parse_body(src).unwrap();
    struct V<'a>(&'a str);
    impl hcl::edit::visit::Visit for V<'_> {
        fn visit_string(&mut self, s: &hcl::edit::Decorated<String>) {
            use hcl::edit::Span;
            let sp = s.span();
            println!("string {:?} span {:?} raw {:?}", s.value(), sp, sp.clone().map(|r| &self.0[r]));
        }
        fn visit_string_template(&mut self, t: &hcl::edit::template::StringTemplate) {
            use hcl::edit::Span;
            println!("template span {:?}", t.span());
        }
    }
    hcl::edit::visit::visit_body(&mut V(src), &body);
    println!("{:#?}", hcl::parse(src).unwrap());
}
