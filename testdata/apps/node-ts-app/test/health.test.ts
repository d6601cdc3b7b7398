describe("health", () => {
  it("is a placeholder the team never finished", () => {
    expect(1 + 1).toBe(2);
  });
});
